import { Command, Option } from 'commander';
import { FsObjectStore } from '../../adapters/local/fs-object-store.ts';
import { LocalCatalog } from '../../adapters/local/local-catalog.ts';
import { COMPACTED_TABLES, type CompactedTable } from '../../core/compact/index.ts';
import { LeaseHeldError } from '../../core/errors.ts';
import {
  type RebuildPartitionResult,
  type RebuildRequest,
  type RebuildSummary,
  rebuildPartitions,
} from '../../pipeline/rebuild.ts';
import type { Log } from '../../ports.ts';
import { parsePositiveWholeNumber } from '../options.ts';

/** Exit code when some selected partitions were refused (their old generation kept). */
export const EXIT_PARTLY_REFUSED = 2;

export interface LocalRebuildOptions extends RebuildRequest {
  readonly lake: string;
  /** Hours before its arrival hour an event may be and still be curated (as `compact`'s; default 48). */
  readonly lateHorizonHours?: number;
  /** The clock (read on every lease check, so a long rebuild renews its lease). */
  readonly now?: () => Date;
  readonly log?: Log;
}

const QUIET: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** Rebuilds the published partitions of event dates [from, to) of a local lake folder from raw/. */
export async function runLocalRebuild(opts: LocalRebuildOptions): Promise<RebuildSummary> {
  const store = new FsObjectStore(opts.lake);
  return rebuildPartitions(
    {
      store,
      catalog: new LocalCatalog(store),
      log: opts.log ?? QUIET,
      now: opts.now ?? (() => new Date()),
      lateHorizonHours: opts.lateHorizonHours,
    },
    {
      from: opts.from,
      to: opts.to,
      tables: opts.tables,
      account: opts.account,
      cluster: opts.cluster,
      allowMissingSources: opts.allowMissingSources,
      dryRun: opts.dryRun,
    },
  );
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(2)} MiB`;
}

function partitionLine(p: RebuildPartitionResult): string {
  const name = `${p.table} ${p.values.join('/')}`;
  if (p.status === 'refused') return `  refused    ${name}: ${p.reason}; old generation kept (${p.rowsBefore} rows)`;
  if (p.status === 'planned')
    return `  would rebuild ${name}: ${p.rowsBefore} rows from ${p.sources} source objects${p.missingSources.length ? ` (${p.missingSources.length} gone, their rows would be dropped)` : ''}`;
  const missing = p.missingSources.length
    ? `, ${p.missingSources.length} sources gone: ${p.droppedRows} rows dropped`
    : '';
  return `  ${p.status.padEnd(10)} ${name}: rows ${p.rowsBefore} → ${p.rowsAfter} (+${p.addedRows} −${p.droppedRows}), duplicates ${p.duplicates}, quarantined ${p.quarantined}${missing}`;
}

/** What `rebuild` prints: totals like `compact`'s, one line per partition, and what is owed. */
export function rebuildSummaryText(s: RebuildSummary, lake = 'DIR'): string {
  const lines = [
    `rebuild of event dates [${s.from}, ${s.to})${s.dryRun ? ': dry run, nothing written' : `, plan ${s.planId}, lease holder ${s.holder}`}`,
    `partitions         ${s.partitions.length} selected: ${s.dryRun ? `${s.partitions.length - s.refused} to rebuild` : `${s.rebuilt} rebuilt, ${s.unchanged} unchanged`}, ${s.refused} refused`,
  ];
  if (!s.dryRun) {
    const reasons = Object.entries(s.quarantineReasons)
      .map(([r, n]) => `${r}=${n}`)
      .join(' ');
    lines.push(
      `objects read       ${s.objects} in ${s.chunks} chunk${s.chunks === 1 ? '' : 's'}, events ${s.events}`,
      `rows before/after  ${s.rowsBefore} / ${s.rowsAfter}`,
      `duplicates         ${s.partitions.reduce((n, p) => n + p.duplicates, 0)} between chunks of objects, ${s.stagingDuplicates} within them (staging)`,
      `quarantined        ${s.quarantined}${reasons ? ` (${reasons})` : ''}`,
      `secrets redacted   ${s.redactions}`,
      `bytes in / out     ${mib(s.bytesIn)} / ${mib(s.bytesOut)}`,
    );
  }
  lines.push(...s.partitions.map(partitionLine));
  if (s.dryRun) {
    const gone = s.sourcesNeeded.filter((o) => o.size === null).length;
    const bytes = s.sourcesNeeded.reduce((n, o) => n + (o.size ?? 0), 0);
    lines.push(`source objects     ${s.sourcesNeeded.length} (${mib(bytes)})${gone ? `, ${gone} gone` : ''}`);
    for (const o of s.sourcesNeeded) lines.push(`  ${o.key}${o.size === null ? '  GONE' : `  ${o.size} B`}`);
  } else if (s.rollupsOwed.length > 0) {
    lines.push(
      `rollups owed       ${s.rollupsOwed.length} audit_hourly_summary hours (control/ledger/athena-owed.json): the next \`eks-log-lake run --lake ${lake}\` rebuilds them`,
    );
  }
  if (s.refused > 0)
    lines.push(
      'refused partitions keep their old generation; --allow-missing-sources rebuilds them without the rows of gone objects',
    );
  return lines.join('\n');
}

/** Where `rebuild` writes and how it exits, injectable for tests. */
export interface RebuildCommandDeps {
  readonly now: () => Date;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly exit: (code: number) => void;
}

const DEFAULT_DEPS: RebuildCommandDeps = {
  now: () => new Date(),
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  exit: (code) => {
    process.exitCode = code;
  },
};

interface RebuildCliOptions {
  lake: string;
  from: string;
  to: string;
  table?: CompactedTable[];
  account?: string;
  cluster?: string;
  allowMissingSources?: boolean;
  dryRun?: boolean;
  horizonHours: number;
  json?: boolean;
}

/** `eks-log-lake rebuild --lake DIR --from YYYY-MM-DD --to YYYY-MM-DD`. */
export function rebuildCommand(overrides: Partial<RebuildCommandDeps> = {}): Command {
  const deps: RebuildCommandDeps = { ...DEFAULT_DEPS, ...overrides };
  return new Command('rebuild')
    .description(
      'rebuild published curated partitions of event dates [from, to) from their raw objects with the current code, replacing them (local lake)',
    )
    .requiredOption('--lake <dir>', '(required) local lake folder holding raw/, curated/ and control/')
    .requiredOption('--from <date>', '(required) first event date, UTC YYYY-MM-DD, inclusive')
    .requiredOption(
      '--to <date>',
      '(required) event date after the last one, UTC YYYY-MM-DD, exclusive (as --to of compact and run)',
    )
    .addOption(
      new Option('--table <name>', 'only this table (repeatable; default: every compacted table)')
        .choices([...COMPACTED_TABLES])
        .argParser((v: string, prev: CompactedTable[] | undefined) => [...(prev ?? []), v as CompactedTable]),
    )
    .option('--account <id>', 'only partitions of this 12-digit account')
    .option('--cluster <name>', 'only partitions of this cluster')
    .option(
      '--allow-missing-sources',
      'rebuild a partition even if some of its raw objects are gone (raw retention); their rows are dropped and counted',
    )
    .option(
      '--horizon-hours <n>',
      'hours before its arrival hour an event may be and still be curated, as the compaction that published the range used; older ones are quarantined',
      parsePositiveWholeNumber,
      48,
    )
    .option('--dry-run', 'list the partitions that would be rebuilt and the raw objects needed; write nothing')
    .option('--json', 'print the summary as JSON instead of text')
    .addHelpText(
      'after',
      [
        '',
        "The raw objects the selected partitions' manifests list as sources are read again with the current",
        'code; each partition of the range gets the rows that code maps to it, published as a new generation',
        'that replaces the old one (not merged with it); the old generation is retired and removed by GC',
        'after the grace period. The compaction lease is held throughout (holder',
        'rebuild-<time>), so a rebuild never overlaps a workflow run. A partition whose rebuilt rows are',
        'the ones published is left as it is. Rebuilt audit_events hours owe their audit_hourly_summary rollup,',
        'which the next `eks-log-lake run` rebuilds.',
        '',
        'Examples:',
        '  $ eks-log-lake rebuild --lake ./lake --from 2026-11-27 --to 2026-11-28 --dry-run',
        '  $ eks-log-lake rebuild --lake ./lake --from 2026-11-01 --to 2026-11-08 --table audit_events --json',
        '',
        `Exit code 0 when every selected partition was rebuilt or unchanged, ${EXIT_PARTLY_REFUSED} when some were refused`,
        '(a source object gone, or rows the current code would move out of the range or a partition it would',
        'leave empty), 1 on bad options, a held lease or a failure.',
      ].join('\n'),
    )
    .action(async (opts: RebuildCliOptions) => {
      let s: RebuildSummary;
      try {
        s = await runLocalRebuild({
          lake: opts.lake,
          from: opts.from,
          to: opts.to,
          tables: opts.table,
          account: opts.account,
          cluster: opts.cluster,
          allowMissingSources: opts.allowMissingSources,
          dryRun: opts.dryRun,
          lateHorizonHours: opts.horizonHours,
          now: deps.now,
        });
      } catch (err) {
        if (!(err instanceof LeaseHeldError)) throw err;
        deps.err(`not rebuilt: ${err.message}; try again once that run is over`);
        deps.exit(1);
        return;
      }
      if (opts.json) deps.out(JSON.stringify(s, null, 2));
      else for (const l of rebuildSummaryText(s, opts.lake).split('\n')) deps.out(l);
      deps.exit(s.refused > 0 ? EXIT_PARTLY_REFUSED : 0);
    });
}
