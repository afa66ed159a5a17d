import { ConfigError } from '../../core/errors.ts';
import { catchUpHoursProblem } from '../../core/workflow/input.ts';
import { quietClusterSettingsProblems } from '../../core/workflow/quiet-cluster-settings.ts';
import { athenaStepsOver } from '../../pipeline/workflow-athena.ts';
import {
  compactionStepsOver,
  DEFAULT_WORKFLOW_CONFIG,
  type WorkflowConfig,
  type WorkflowDeps,
} from '../../pipeline/workflow-tasks.ts';
import {
  type Catalog,
  type Clock,
  type Log,
  type Metrics,
  type ObjectStore,
  type QueryEngine,
  systemClock,
} from '../../ports.ts';
import { DuckDbQueryEngine } from './duckdb-query-engine.ts';
import { FsObjectStore } from './fs-object-store.ts';
import { LocalCatalog } from './local-catalog.ts';

const QUIET: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** What every local composition may set; unset means the system clock, silence and the defaults. */
export interface LocalWorkflowOptions {
  readonly clock?: Clock;
  readonly log?: Log;
  readonly metrics?: Metrics;
  readonly config?: Partial<WorkflowConfig>;
}

/** A lake already opened by the caller (a folder, s3rver, memory), who also closes the engine. */
export interface LocalLakeParts {
  readonly store: ObjectStore;
  readonly catalog: Catalog;
  readonly engine: QueryEngine;
  /** Run the Athena-only raw-partition DDL; false for DuckDB, which reads raw/ by glob. */
  readonly registerRawPartitions?: boolean;
}

/**
 * Local composition root of the workflow: the real compaction and Athena steps over the given
 * store, catalog and query engine. With `lakeDir` instead, the folder is the store, the JSON
 * catalog lives in it and DuckDB reads it; then close the engine with `close()` when done.
 */
export function createLocalWorkflowDeps(
  options: LocalWorkflowOptions & { lakeDir: string },
): WorkflowDeps & { close(): Promise<void> };
export function createLocalWorkflowDeps(options: LocalWorkflowOptions & LocalLakeParts): WorkflowDeps;
export function createLocalWorkflowDeps(
  options: LocalWorkflowOptions & ({ lakeDir: string } | LocalLakeParts),
): WorkflowDeps & { close?(): Promise<void> } {
  if ('lakeDir' in options) {
    const store = new FsObjectStore(options.lakeDir);
    const catalog = new LocalCatalog(store);
    const engine = new DuckDbQueryEngine({ lakeDir: options.lakeDir, catalog });
    const { lakeDir: _, ...rest } = options;
    return { ...createLocalWorkflowDeps({ ...rest, store, catalog, engine }), close: () => engine.close() };
  }
  const { store, catalog, engine } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? QUIET;
  const config = { ...DEFAULT_WORKFLOW_CONFIG, ...options.config };
  // The same bound as in AWS: the local runner models one Step Functions execution.
  const problem = catchUpHoursProblem(config.maxCatchUpHours, config.leaseTtlSeconds);
  if (problem) throw new ConfigError(`workflow config maxCatchUpHours ${problem}`);
  const quiet = config.quietClusters ? quietClusterSettingsProblems(config.quietClusters) : [];
  if (quiet.length > 0) {
    throw new ConfigError(
      quiet
        .map(
          (q) =>
            `workflow config quietClusters.${q.setting}${q.index === undefined ? '' : `[${q.index}]`} ${q.message}`,
        )
        .join('; '),
    );
  }
  return {
    store,
    clock,
    log,
    metrics: options.metrics,
    config,
    compaction: compactionStepsOver({
      store,
      catalog,
      log,
      metrics: options.metrics,
      now: () => clock.now(),
      lateHorizonHours: config.lateHorizonHours,
    }),
    athena: athenaStepsOver({
      engine,
      catalog,
      registerRawPartitions: options.registerRawPartitions ?? false,
      store,
      clock,
    }),
  };
}
