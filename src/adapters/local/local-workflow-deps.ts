import { athenaStepsOver } from '../../pipeline/workflow-athena.ts';
import {
  compactionStepsOver,
  DEFAULT_WORKFLOW_CONFIG,
  type WorkflowConfig,
  type WorkflowDeps,
} from '../../pipeline/workflow-tasks.ts';
import { type Clock, type Log, systemClock } from '../../ports.ts';
import { DuckDbQueryEngine } from './duckdb-query-engine.ts';
import { FsObjectStore } from './fs-object-store.ts';
import { LocalCatalog } from './local-catalog.ts';

const QUIET: Log = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Local composition root of the workflow: the lake folder as the object store, the JSON
 * catalog in it, the real compaction, and DuckDB in Athena's place. Close the engine when done.
 */
export function createLocalWorkflowDeps(options: {
  lakeDir: string;
  clock?: Clock;
  log?: Log;
  config?: Partial<WorkflowConfig>;
}): WorkflowDeps & { close(): Promise<void> } {
  const store = new FsObjectStore(options.lakeDir);
  const catalog = new LocalCatalog(store);
  const clock = options.clock ?? systemClock;
  const log = options.log ?? QUIET;
  const config = { ...DEFAULT_WORKFLOW_CONFIG, ...options.config };
  const engine = new DuckDbQueryEngine({ lakeDir: options.lakeDir, catalog });
  return {
    store,
    clock,
    log,
    config,
    compaction: compactionStepsOver({
      store,
      catalog,
      log,
      now: () => clock.now(),
      lateHorizonHours: config.lateHorizonHours,
    }),
    // DuckDB reads raw/ by glob, so there are no raw-table partitions to register locally.
    athena: athenaStepsOver({ engine, catalog, registerRawPartitions: false }),
    close: () => engine.close(),
  };
}
