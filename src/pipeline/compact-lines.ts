import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { RawObjectError } from '../core/errors.ts';

// Re-exported: callers and the stage workers' error revival import it from here.
export { RawObjectError };

/** One line of a raw object, or the head of a line too long to hold. */
export type RawLine =
  | { readonly kind: 'text'; readonly text: string; readonly lineNo: number; readonly bytes: number }
  | { readonly kind: 'too_long'; readonly head: Uint8Array; readonly lineNo: number; readonly bytes: number }
  | { readonly kind: 'bad_utf8'; readonly raw: Uint8Array; readonly lineNo: number; readonly bytes: number };

export interface LineLimits {
  /** Longer lines are yielded as `too_long` with only their head kept (memory stays bounded). */
  readonly maxLineBytes: number;
  /** Decompressed size at which the object is rejected (gzip bombs). */
  readonly maxObjectBytes: number;
}

const HEAD_BYTES = 64 * 1024;
const DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Streams a gzip NDJSON object (any number of gzip members) as lines: `\n` or `\r\n` ends a
 * line, a missing final newline is fine, a leading UTF-8 BOM is dropped, blank lines skipped.
 */
export async function* gunzipLines(source: AsyncIterable<Uint8Array>, limits: LineLimits): AsyncGenerator<RawLine> {
  const it = source[Symbol.asyncIterator]();
  let head = await it.next();
  while (!head.done && head.value.length === 0) head = await it.next();
  if (head.done) return; // zero-byte object: no lines
  const magic = head.value;
  if (magic[0] !== 0x1f || (magic.length > 1 && magic[1] !== 0x8b)) {
    throw new RawObjectError('not_gzip', 'object does not start with the gzip magic bytes');
  }
  const rest = async function* (): AsyncGenerator<Uint8Array> {
    yield magic;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  };
  const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
  const input = Readable.from(rest(), { objectMode: false });
  // A failed read (network, throttling, KMS) is the store's error, not a corrupt object: it must
  // fail the unit so it is retried, never quarantine a good object.
  let readError: unknown;
  input.on('error', (err) => {
    readError = err;
    gunzip.destroy(err);
  });
  input.pipe(gunzip);
  let first = true;

  let parts: Buffer[] = [];
  let partBytes = 0;
  let total = 0;
  let lineNo = 0;

  const emit = (line: Buffer): RawLine | null => {
    lineNo++;
    let end = line.length;
    if (end > 0 && line[end - 1] === 0x0d) end--;
    let start = 0;
    if (first && end >= 3 && line[0] === 0xef && line[1] === 0xbb && line[2] === 0xbf) start = 3;
    first = false;
    if (end - start === 0) return null;
    const body = line.subarray(start, end);
    try {
      const text = DECODER.decode(body);
      if (text.trim().length === 0) return null;
      return { kind: 'text', text, lineNo, bytes: body.length };
    } catch {
      return { kind: 'bad_utf8', raw: Uint8Array.from(body), lineNo, bytes: body.length };
    }
  };

  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limits.maxObjectBytes) {
        throw new RawObjectError('too_large', `decompressed size exceeds ${limits.maxObjectBytes} bytes`);
      }
      let pos = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, pos);
        const piece = nl < 0 ? chunk.subarray(pos) : chunk.subarray(pos, nl);
        if (partBytes <= limits.maxLineBytes) parts.push(piece);
        partBytes += piece.length;
        if (nl < 0) break;
        const out = lineOf(parts, partBytes, limits.maxLineBytes, emit, () => ++lineNo);
        parts = [];
        partBytes = 0;
        if (out) yield out;
        pos = nl + 1;
      }
      // Bounded memory: a long line keeps only the pieces up to the limit (its head).
      if (partBytes > limits.maxLineBytes && parts.length > 1) parts = [Buffer.concat(parts).subarray(0, HEAD_BYTES)];
    }
    if (partBytes > 0) {
      const out = lineOf(parts, partBytes, limits.maxLineBytes, emit, () => ++lineNo);
      if (out) yield out;
    }
  } catch (err) {
    if (err instanceof RawObjectError || (readError !== undefined && err === readError)) throw err;
    const code = (err as { code?: string }).code;
    throw new RawObjectError('corrupt_gzip', `${code ?? 'gzip error'}: ${(err as Error).message}`);
  } finally {
    gunzip.destroy();
    input.destroy();
  }
}

function lineOf(
  parts: Buffer[],
  bytes: number,
  max: number,
  emit: (b: Buffer) => RawLine | null,
  nextNo: () => number,
): RawLine | null {
  if (bytes > max) {
    const head = Uint8Array.from(Buffer.concat(parts).subarray(0, HEAD_BYTES));
    return { kind: 'too_long', head, lineNo: nextNo(), bytes };
  }
  return emit(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes));
}
