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

/** Scratch space kept between records up to this size; a larger record gets its own buffer. */
const SCRATCH_KEEP_BYTES = 4 * 1024 * 1024;
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Encodes NDJSON lines as one gzip member (each line newline-terminated). With `tails`, line i
 * is `lines[i] + tails[i]` (see toRawRecordParts).
 */
export function encodeRecordData(
  lines: readonly string[],
  level: number = RECORD_GZIP_LEVEL,
  tails?: readonly string[],
): Uint8Array {
  // UTF-8 straight into reused scratch memory: no joined string to build, flatten and encode again.
  // A UTF-16 unit takes at most 3 UTF-8 bytes; only a record too big to keep scratch for pays
  // for the exact count, so a huge one does not reserve three times its size.
  let bound = lines.length;
  for (let i = 0; i < lines.length; i++) bound += 3 * (lines[i]!.length + (tails?.[i]?.length ?? 0));
  if (bound > SCRATCH_KEEP_BYTES) {
    bound = lines.length;
    for (let i = 0; i < lines.length; i++) {
      bound += Buffer.byteLength(lines[i]!) + (tails === undefined ? 0 : Buffer.byteLength(tails[i]!));
    }
  }
  let buf = scratch;
  if (buf.length < bound) {
    buf = Buffer.allocUnsafe(bound);
    if (bound <= SCRATCH_KEEP_BYTES) scratch = buf;
  }
  let at = 0;
  for (let i = 0; i < lines.length; i++) {
    at += buf.write(lines[i]!, at);
    const tail = tails?.[i];
    if (tail) at += buf.write(tail, at);
    buf[at++] = 0x0a;
  }
  // gzipSync reads its input before returning, so the scratch can be reused at once.
  return gzipSync(buf.subarray(0, at), { level });
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
