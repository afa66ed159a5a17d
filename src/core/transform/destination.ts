import { gzipSync } from 'node:zlib';

/**
 * How the Firehose S3 destination for `raw/` is configured (infra mirrors this; see ADR 0001).
 * The transform gzips each record itself and the destination stays UNCOMPRESSED, so Firehose
 * concatenates gzip members into one multi-member `.gz` object. Never enable Firehose's
 * AppendDelimiterToRecord processor: a byte between members would corrupt the object.
 */
export const RAW_DESTINATION = {
  compression: 'UNCOMPRESSED',
  fileExtension: '.gz',
  processorBufferMb: 1,
  processorBufferIntervalSeconds: 60,
  bufferMb: 64,
  bufferIntervalSeconds: 60,
  partitionKey: 'log_type',
  prefix: 'raw/log_type=!{partitionKeyFromLambda:log_type}/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
  errorOutputPrefix: 'errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
} as const;

/** zlib level of each record's gzip member; chosen by measurement in ADR 0001. */
export const RECORD_GZIP_LEVEL = 1;

/** Encodes NDJSON lines as one gzip member (each line newline-terminated). */
export function encodeRecordData(lines: readonly string[], level: number = RECORD_GZIP_LEVEL): Uint8Array {
  const text = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  return gzipSync(text, { level });
}

/**
 * What Firehose writes to S3 for a batch of delivered `Ok` record datas (decoded from base64)
 * under RAW_DESTINATION: the bytes concatenated in order, which is one multi-member gzip file.
 */
export function assembleDeliveredObject(records: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const r of records) total += r.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const r of records) {
    out.set(r, at);
    at += r.byteLength;
  }
  return out;
}
