import '../shared/polyfill.ts';
import { Command } from 'commander';
import { benchCommand } from './commands/bench.ts';
import { compactCommand } from './commands/compact.ts';
import { demoCommand } from './commands/demo.ts';
import { leaseCommand } from './commands/lease.ts';
import { parseCommand } from './commands/parse.ts';
import { queryCommand } from './commands/query.ts';
import { rebuildCommand } from './commands/rebuild.ts';
import { runCommand } from './commands/run.ts';
import { transformCommand } from './commands/transform.ts';

/** Builds the `eks-log-lake` command; each subcommand lives in src/cli/commands/. */
export function buildProgram(): Command {
  const program = new Command('eks-log-lake')
    .description('EKS control-plane logs from CloudWatch Logs to S3: raw NDJSON for Splunk, Parquet for Athena')
    .showHelpAfterError();
  // Subcommands register here, one line each.
  program.addCommand(transformCommand());
  program.addCommand(benchCommand());
  program.addCommand(parseCommand());
  program.addCommand(queryCommand());
  program.addCommand(compactCommand());
  program.addCommand(demoCommand());
  program.addCommand(runCommand());
  program.addCommand(leaseCommand());
  program.addCommand(rebuildCommand());
  return program;
}

/** Runs the CLI on argv; the bin script and `tsx src/cli/main.ts` both come here. */
export function runCli(argv: readonly string[]): void {
  buildProgram()
    .parseAsync([...argv])
    .catch((err: unknown) => {
      console.error(`eks-log-lake: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}

if (require.main === module) runCli(process.argv);
