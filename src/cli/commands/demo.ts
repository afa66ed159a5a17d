import { existsSync, readdirSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { Command } from 'commander';
import { FsObjectStore } from '../../adapters/local/fs-object-store.ts';
import { InvalidInputError } from '../../core/errors.ts';
import { folderLake, LAKE_PREFIXES, runDemo } from '../../demo/demo.ts';
import { formatDemoReport } from '../../demo/report.ts';
import { s3Lake } from '../../demo/s3-lake.ts';

/** Default lake folder, relative to the working directory. */
export const DEFAULT_DEMO_LAKE = '.lake';

/** The demo's account ids (documentation ranges would not pass the 12-digit check). */
const DEMO_ACCOUNTS = ['111122223333', '444455556666', '777788889999', '123456789012', '210987654321'];

interface DemoCliOptions {
  lake: string;
  minutes: number;
  eventsPerMinute: number;
  sizeMib?: number;
  accounts: number;
  clusters: number;
  seed: number;
  start?: string;
  s3Endpoint?: string;
  bucket?: string;
  json?: boolean;
}

const int = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InvalidInputError(`--${name} must be an integer in [${min}, ${max}]`);
  return n;
};

/** The first whole hour after `now`: simulated traffic happens after every object's real write time. */
export function defaultDemoStart(now: Date): Date {
  return new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 + 3_600_000);
}

/** A folder holding something other than a lake is never emptied by the demo. */
function checkFolder(dir: string): void {
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir).filter((e) => !e.startsWith('.'));
  const lakeLike = new Set(LAKE_PREFIXES.map((p) => p.slice(0, -1)));
  const strange = entries.filter((e) => !lakeLike.has(e));
  if (strange.length > 0)
    throw new InvalidInputError(
      `${dir} holds ${strange.slice(0, 3).join(', ')}: the demo empties its lake first, so give it a new or lake-only folder`,
    );
}

/** `eks-log-lake demo`: the whole pipeline on generated traffic, locally or against an S3-compatible server. */
export function demoCommand(write: (text: string) => void = (t) => process.stdout.write(t)): Command {
  return new Command('demo')
    .description(
      'generate EKS control-plane traffic, deliver it through Firehose and the transform, compact it with the state machine (scheduled + backfill), query it, and summarise',
    )
    .option('--lake <dir>', 'lake folder (emptied first)', DEFAULT_DEMO_LAKE)
    .option('--minutes <n>', 'minutes of traffic to generate', int('minutes', 1, 24 * 60), 60)
    .option(
      '--events-per-minute <n>',
      'events per minute over all clusters',
      int('events-per-minute', 10, 1_000_000),
      600,
    )
    .option(
      '--size-mib <n>',
      'approximate MiB of log text to generate (sets the rate instead)',
      int('size-mib', 1, 10_000),
    )
    .option('--accounts <n>', 'source AWS accounts', int('accounts', 1, DEMO_ACCOUNTS.length), 3)
    .option('--clusters <n>', 'clusters per account', int('clusters', 1, 20), 2)
    .option('--seed <n>', 'seed of the generator (same seed, same traffic)', int('seed', 0, 2 ** 31 - 1), 42)
    .option('--start <iso>', 'time of the first event (default: the next whole hour)')
    .option('--s3-endpoint <url>', 'use this S3-compatible endpoint instead of a folder (needs --bucket)')
    .option('--bucket <name>', 'bucket of the lake on --s3-endpoint (emptied first; refused if it holds other data)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  eks-log-lake demo\n  eks-log-lake demo --minutes 15 --clusters 1 --seed 7\n  eks-log-lake demo --s3-endpoint http://127.0.0.1:4568 --bucket lake',
    )
    .action(async (opts: DemoCliOptions) => {
      if ((opts.s3Endpoint === undefined) !== (opts.bucket === undefined))
        throw new InvalidInputError('--s3-endpoint and --bucket go together');
      const start = opts.start === undefined ? defaultDemoStart(new Date()) : new Date(opts.start);
      if (Number.isNaN(start.getTime())) throw new InvalidInputError(`--start must be an ISO time, got ${opts.start}`);
      const lakeDir = resolve(opts.lake);
      const rel = relative(process.cwd(), lakeDir);
      // ./.lake inside the working directory, the absolute path elsewhere.
      const shownDir = rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? lakeDir : `./${rel}`;
      checkFolder(lakeDir);
      let lake: ReturnType<typeof folderLake>;
      if (opts.s3Endpoint !== undefined) {
        lake = s3Lake({ endpoint: opts.s3Endpoint, bucket: opts.bucket!, mirrorDir: lakeDir });
      } else {
        lake = folderLake(new FsObjectStore(lakeDir), `folder ${shownDir}`);
      }
      const log = (line: string) => {
        if (!opts.json) write(`${line}\n`);
      };
      log(
        `eks-log-lake demo: lake ${lake.description}, seed ${opts.seed}, ${opts.minutes} min from ${start.toISOString()}`,
      );
      if (start.getTime() <= Date.now())
        log(
          'note        --start is in the past: objects are written after its scheduled window closed, so the backfill curates them',
        );
      const report = await runDemo({
        lake,
        seed: opts.seed,
        start,
        durationMinutes: opts.minutes,
        accounts: DEMO_ACCOUNTS.slice(0, opts.accounts),
        clustersPerAccount: opts.clusters,
        eventsPerMinute: opts.eventsPerMinute,
        targetBytes: opts.sizeMib === undefined ? undefined : opts.sizeMib * 1_048_576,
        print: log,
      });
      if (opts.json) write(`${JSON.stringify(report, null, 2)}\n`);
      else write(formatDemoReport(report, { queryLake: shownDir }));
      const ok =
        report.conservation.balanced &&
        report.runs.every((r) => r.status === 'SUCCEEDED') &&
        report.checks.every((c) => c.found) &&
        Object.values(report.tables).every((t) => t.duplicateIds === 0);
      if (!ok) process.exitCode = 1;
    });
}
