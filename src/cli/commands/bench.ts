import { Command } from 'commander';
import { DEFAULT_SIZE_MB, runBench } from '../../../bench/index.ts';

/** `eks-log-lake bench`: runs the benchmark sections in bench/sections/. */
export function benchCommand(): Command {
  return new Command('bench')
    .description('run the benchmarks (bench/sections/*) on generated EKS traffic')
    .option('--json', 'print one JSON object with every section’s results')
    .option('--only <section>', 'run one section only: compaction, soak or transform (a file in bench/sections/)')
    .option('--size-mb <n>', 'MB (10^6 bytes) of generated log text per section', (v) => Number(v), DEFAULT_SIZE_MB)
    .action(async (opts: { json?: boolean; only?: string; sizeMb: number }) => {
      if (!Number.isFinite(opts.sizeMb) || opts.sizeMb <= 0) throw new Error('--size-mb must be a positive number');
      const log = opts.json ? (s: string) => process.stderr.write(`${s}\n`) : (s: string) => console.log(s);
      const results = await runBench({ only: opts.only, sizeMb: opts.sizeMb, log });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(results)}\n`);
        return;
      }
      for (const [name, values] of Object.entries(results)) {
        console.log(`\n${name}`);
        for (const [k, v] of Object.entries(values)) console.log(`  ${k.padEnd(32)} ${v}`);
      }
    });
}
