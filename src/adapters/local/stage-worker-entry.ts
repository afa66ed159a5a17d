// Worker-thread side of the stage pool: stages chunks of a folder lake with the same
// stageObjects as the in-process path; the clock value and limits come with each request.
import { parentPort, workerData } from 'node:worker_threads';
import { type CompactionDeps, mergePartition, stageObjects } from '../../pipeline/compact.ts';
import type { Log, Metrics } from '../../ports.ts';
import { FsObjectStore } from './fs-object-store.ts';
import { LocalCatalog } from './local-catalog.ts';
import { type StageReply, type StageRequest, serializeError } from './stage-workers.ts';

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('stage-worker-entry must run in a worker thread');
  const { lakeDir } = workerData as { lakeDir: string };
  const store = new FsObjectStore(lakeDir);
  const catalog = new LocalCatalog(store);
  const post = (reply: StageReply) => port.postMessage(reply);
  const logAt =
    (level: keyof Log) =>
    (message: string, fields?: Record<string, unknown>): void => {
      // Fields are plain data; anything a structured clone refuses travels as its JSON.
      try {
        post({ kind: 'log', level, message, fields });
      } catch {
        post({ kind: 'log', level, message, fields: JSON.parse(JSON.stringify(fields ?? {})) });
      }
    };
  const log: Log = { debug: logAt('debug'), info: logAt('info'), warn: logAt('warn'), error: logAt('error') };
  const metrics: Metrics = {
    count: (name, value, dims) => post({ kind: 'count', name, value, dims: dims && { ...dims } }),
    gauge: (name, value, unit) => post({ kind: 'gauge', name, value, unit }),
  };
  port.on('message', (req: StageRequest) => {
    const deps: CompactionDeps = {
      store,
      catalog,
      log,
      metrics,
      now: () => new Date(req.nowMs),
      lateHorizonHours: req.lateHorizonHours,
      memoryBudgetBytes: req.memoryBudgetBytes,
    };
    const run = req.op === 'stage' ? stageObjects(deps, req.input) : mergePartition(deps, req.input);
    run.then(
      (result) => post({ kind: 'done', id: req.id, result }),
      (error: unknown) => post({ kind: 'failed', id: req.id, error: serializeError(error) }),
    );
  });
}

main();
