import type { DemoReport } from './demo.ts';

const fmt = (n: number) => n.toLocaleString('en-US');
const mib = (n: number) => `${(n / 1_048_576).toFixed(1)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The end-of-demo summary: counts, conservation, sizes, timings, answers, and what to run next. */
export function formatDemoReport(r: DemoReport, next: { queryLake: string | undefined }): string {
  const t = r.truth;
  const c = r.conservation;
  const lines: string[] = [];
  lines.push('', `Summary (lake: ${r.lake})`, '');
  lines.push(
    `  events generated      ${fmt(t.events.unique)} unique + ${fmt(t.events.duplicate)} re-delivered + ${fmt(t.events.control)} control`,
  );
  lines.push(
    `  records delivered     ${fmt(r.firehose.recordsIn)} Firehose records (${fmt(r.firehose.ok)} Ok, ${fmt(r.firehose.dropped)} Dropped, ${fmt(r.firehose.processingFailed)} ProcessingFailed, ${fmt(r.firehose.recordsReingested)} re-ingested)`,
  );
  lines.push('  rows per table');
  for (const [table, v] of Object.entries(r.tables))
    lines.push(
      `    ${table.padEnd(22)}${fmt(v.rows).padStart(10)}${v.duplicateIds > 0 ? `  (${v.duplicateIds} DUPLICATE ids)` : ''}`,
    );
  lines.push(`  duplicates removed    ${fmt(c.duplicatesRemoved)}`);
  lines.push(`  quarantined           ${fmt(c.quarantined)}`);
  lines.push(
    `  conservation          ${fmt(c.generated)} generated = ${fmt(c.curated)} curated + ${fmt(c.quarantined)} quarantined + ` +
      `${fmt(c.controlDropped)} control + ${fmt(c.duplicatesRemoved)} duplicates` +
      (c.processingFailed > 0 ? ` + ${fmt(c.processingFailed)} under errors/` : '') +
      `  ${c.balanced ? 'OK' : 'MISMATCH'}`,
  );
  lines.push(
    `  bytes                 ${mib(r.bytes.messageChars)} log text → ${mib(r.bytes.rawBytes)} raw gzip NDJSON in ${fmt(r.bytes.rawObjects)} objects → ` +
      `${mib(r.bytes.parquetBytes)} ZSTD Parquet in ${fmt(r.bytes.parquetFiles)} files`,
  );
  lines.push('  time per stage');
  let total = 0;
  for (const s of r.timings) {
    lines.push(`    ${s.stage.padEnd(34)}${secs(s.ms).padStart(8)}`);
    total += s.ms;
  }
  lines.push(`    ${'total'.padEnd(34)}${secs(total).padStart(8)}`);
  const found = r.checks.filter((x) => x.found).length;
  lines.push(`  planted answers found ${found} of ${r.checks.length}`);
  for (const x of r.checks) lines.push(`    ${x.found ? 'ok ' : 'NO '} ${x.query.padEnd(30)} ${x.expected}`);
  for (const run of r.runs) if (run.status !== 'SUCCEEDED') lines.push(`  ${run.name} run FAILED: ${run.error}`);
  lines.push('', 'Next:');
  if (next.queryLake) {
    const q = r.checks[0];
    lines.push(`  npx eks-log-lake query --list`);
    lines.push(
      `  npx eks-log-lake query --lake ${next.queryLake} list-top-callers --param dtFrom=${q?.params.dtFrom ?? 'YYYY-MM-DD'} --param dtTo=${q?.params.dtTo ?? 'YYYY-MM-DD'}`,
    );
    lines.push(
      `  npx eks-log-lake query --lake ${next.queryLake} --sql "SELECT verb, count(*) n FROM audit_events GROUP BY verb ORDER BY n DESC"`,
    );
  } else {
    lines.push(
      '  the lake is in the bucket; copy curated/ and control/catalog/ to a folder to query it with `query --lake`',
    );
  }
  lines.push('');
  return lines.join('\n');
}
