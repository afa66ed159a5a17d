import { isAscii, isUtf8 } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import { DecodeError } from './errors.ts';
import type { CwlLogEvent, SubscriptionMessage } from './types.ts';

/** Default cap on a decoded payload: far above any real CloudWatch batch, far below a gzip bomb. */
export const DEFAULT_MAX_DECODED_BYTES = 64 * 1024 * 1024;

/**
 * Decodes standard, padded base64 and rejects anything else; Node's own decoder silently
 * skips stray characters and accepts the URL-safe alphabet, which would turn garbage into
 * plausible bytes.
 */
export function decodeBase64Strict(data: string): Uint8Array {
  if (data.length === 0) throw new DecodeError('payload is empty', 'empty');
  if (data.length % 4 !== 0 || data.indexOf('-') !== -1 || data.indexOf('_') !== -1) {
    throw new DecodeError('payload is not strict base64 (bad characters or length)', 'invalid_base64');
  }
  const bytes = Buffer.from(data, 'base64');
  // Any skipped character or early '=' makes the output shorter than the length implies.
  const pad = data.charCodeAt(data.length - 1) !== 0x3d ? 0 : data.charCodeAt(data.length - 2) === 0x3d ? 2 : 1;
  if (bytes.length !== (data.length / 4) * 3 - pad) {
    throw new DecodeError('payload is not strict base64 (bad characters or length)', 'invalid_base64');
  }
  return bytes;
}

/** An event whose message was not valid UTF-8 carries its original bytes here. */
export interface UndecodableMessage {
  readonly messageBytes: Uint8Array;
}

/**
 * Decodes one CloudWatch Logs subscription payload: gzip (several members allowed), or plain
 * JSON text when `allowPlainJson` (the `parse` command's convenience; CloudWatch Logs always
 * gzips, so the transform refuses anything else). Validates the message envelope; events are
 * checked later, one record each. Throws DecodeError with a `code` naming the failure.
 */
export function decodeSubscriptionPayload(
  bytes: Uint8Array,
  options?: { maxDecodedBytes?: number; allowPlainJson?: boolean },
): SubscriptionMessage {
  const max = options?.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
  if (bytes.length === 0) throw new DecodeError('payload is empty', 'empty');
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let text: Buffer;
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    text = gunzipBounded(buf, max);
  } else if (options?.allowPlainJson && looksLikeJsonText(buf)) {
    if (buf.length > max) throw new DecodeError(`payload exceeds ${max} bytes`, 'too_large');
    text = buf;
  } else {
    throw new DecodeError(
      options?.allowPlainJson ? 'payload is neither gzip nor JSON text' : 'payload is not gzip',
      'not_gzip',
    );
  }
  if (text.length === 0) throw new DecodeError('decoded payload is empty', 'empty');
  return parseMessageJson(text);
}

function looksLikeJsonText(buf: Buffer): boolean {
  let i = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3;
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
  return buf[i] === 0x7b; // '{'
}

/** Deflate never expands more than about 1032:1, so a larger size claim in a trailer is false. */
const MAX_INFLATE_RATIO = 1032;

/**
 * Output chunk size for gunzip: the last member's trailer states its size (ISIZE), which for
 * the usual single member is the whole output, so one exact chunk replaces 16 KiB pieces that
 * are then concatenated. A wrong claim only costs extra chunks, never a wrong result.
 */
function gunzipChunkSize(buf: Buffer, max: number): number {
  if (buf.length < 18) return 64;
  const claimed = buf.readUInt32LE(buf.length - 4) + 1;
  return Math.max(64, Math.min(claimed, max + 1, buf.length * MAX_INFLATE_RATIO));
}

function gunzipBounded(buf: Buffer, max: number): Buffer {
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    const options = { maxOutputLength: max, info: true, chunkSize: gunzipChunkSize(buf, max) };
    result = gunzipSync(buf, options) as unknown as typeof result;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const msg = (err as Error).message;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DecodeError(`decompressed payload exceeds ${max} bytes`, 'too_large', { cause: err });
    }
    if (code === 'Z_BUF_ERROR') throw new DecodeError(`truncated gzip: ${msg}`, 'truncated_gzip', { cause: err });
    // The first member's magic was checked, so a header error can only come from bytes after it.
    if (code === 'Z_DATA_ERROR' && msg === 'incorrect header check') {
      throw new DecodeError('gzip followed by trailing garbage', 'trailing_garbage', { cause: err });
    }
    throw new DecodeError(`corrupt gzip: ${msg}`, 'not_gzip', { cause: err });
  }
  // zlib quietly stops at zero padding after a member; treat any unread byte as garbage.
  if (result.engine.bytesWritten !== buf.length) {
    throw new DecodeError('gzip followed by trailing garbage', 'trailing_garbage');
  }
  return result.buffer;
}

function parseMessageJson(text: Buffer): SubscriptionMessage {
  // ASCII (most payloads) reads the same as latin1, which is a plain copy with nothing to decode.
  const ascii = isAscii(text);
  const valid = ascii || isUtf8(text);
  let value: unknown;
  try {
    // Invalid UTF-8 (rare; CloudWatch itself rejects it) is read byte-for-char so each event's
    // original bytes can be recovered; see recoverMessageBytes.
    value = JSON.parse(valid && !ascii ? stripBom(text.toString('utf8')) : text.toString('latin1'));
  } catch (err) {
    throw new DecodeError(`payload is not valid JSON: ${(err as Error).message}`, 'invalid_json', { cause: err });
  }
  const msg = validateEnvelope(value);
  if (!valid) return { ...msg, logEvents: msg.logEvents.map(recoverMessageBytes) };
  return msg;
}

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validateEnvelope(value: unknown): SubscriptionMessage {
  if (!isObject(value)) throw new DecodeError('subscription message is not a JSON object', 'bad_envelope');
  const type = value.messageType;
  if (type !== 'DATA_MESSAGE' && type !== 'CONTROL_MESSAGE') {
    if (typeof type === 'string') {
      throw new DecodeError(`unknown messageType ${JSON.stringify(type)}`, 'unknown_message_type');
    }
    throw new DecodeError('subscription message has no messageType', 'bad_envelope');
  }
  const logEvents = value.logEvents ?? [];
  if (!Array.isArray(logEvents)) throw new DecodeError('logEvents is not an array', 'bad_envelope');
  const filters = value.subscriptionFilters ?? [];
  if (type === 'CONTROL_MESSAGE') {
    return {
      messageType: type,
      owner: typeof value.owner === 'string' ? value.owner : '',
      logGroup: typeof value.logGroup === 'string' ? value.logGroup : '',
      logStream: typeof value.logStream === 'string' ? value.logStream : '',
      subscriptionFilters: Array.isArray(filters) ? filters : [],
      logEvents: logEvents as CwlLogEvent[],
    };
  }
  for (const field of ['owner', 'logGroup', 'logStream'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') {
      throw new DecodeError(`DATA_MESSAGE ${field} is missing or not a non-empty string`, 'bad_envelope');
    }
  }
  if (!Array.isArray(filters)) throw new DecodeError('subscriptionFilters is not an array', 'bad_envelope');
  // Individual events are not checked here: a bad event becomes a `bad_envelope` record, not a failed payload.
  return {
    messageType: type,
    owner: value.owner as string,
    logGroup: value.logGroup as string,
    logStream: value.logStream as string,
    subscriptionFilters: filters as string[],
    logEvents: logEvents as CwlLogEvent[],
  };
}

/**
 * After a latin1 read, chars 0–255 are the original bytes and higher chars came from JSON
 * `\u` escapes (re-encoded as UTF-8). Valid messages are decoded again; invalid ones keep
 * their bytes for a lossless `message_b64`.
 */
function recoverMessageBytes(ev: CwlLogEvent): CwlLogEvent {
  if (!isObject(ev) || typeof ev.message !== 'string') return ev;
  const s = ev.message;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x100) {
      bytes.push(c);
    } else {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
    }
  }
  const buf = Buffer.from(bytes);
  const message = buf.toString('utf8');
  if (isUtf8(buf)) return { ...ev, message };
  const out: CwlLogEvent & UndecodableMessage = { ...ev, message, messageBytes: buf };
  return out;
}
