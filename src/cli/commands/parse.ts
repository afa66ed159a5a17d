import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Command } from 'commander';
import { DEFAULT_MAX_DECODED_BYTES, decodeSubscriptionPayload } from '../../core/decode.ts';
import { DecodeError } from '../../core/errors.ts';
import { type ParseContext, toRawRecordLines } from '../../core/parse/index.ts';
import type { SubscriptionMessage } from '../../core/types.ts';

/**
 * The subscription messages in one input: a single message (gzip or JSON, pretty-printed or
 * not) or NDJSON with one message per line (optionally gzip'd). Throws naming `name` otherwise.
 */
export function readSubscriptionMessages(name: string, bytes: Uint8Array): SubscriptionMessage[] {
  try {
    return [decodeSubscriptionPayload(bytes, { allowPlainJson: true })];
  } catch (err) {
    if (!(err instanceof DecodeError) || err.code !== 'invalid_json') throw notAMessage(name, err);
    const text = decodedText(bytes);
    const lines = text.split('\n');
    if (lines.filter((l) => l.trim() !== '').length < 2) throw notAMessage(name, err);
    const messages: SubscriptionMessage[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        messages.push(decodeSubscriptionPayload(Buffer.from(line, 'utf8'), { allowPlainJson: true }));
      } catch (lineErr) {
        throw notAMessage(`${name} line ${i + 1}`, lineErr);
      }
    });
    return messages;
  }
}

function decodedText(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf[0] === 0x1f && buf[1] === 0x8b)
    return gunzipSync(buf, { maxOutputLength: DEFAULT_MAX_DECODED_BYTES }).toString();
  return buf.toString('utf8');
}

function notAMessage(name: string, err: unknown): Error {
  const why = err instanceof DecodeError ? `${err.message} [${err.code}]` : String(err);
  return new Error(`${name}: not a CloudWatch Logs subscription message: ${why}`);
}

/** Raw NDJSON record lines for every input, exactly as the transform emits them. */
export function parseInputsToLines(
  inputs: readonly { name: string; bytes: Uint8Array }[],
  ctx: ParseContext,
): string[] {
  const out: string[] = [];
  for (const input of inputs) {
    for (const message of readSubscriptionMessages(input.name, input.bytes)) {
      for (const line of toRawRecordLines(message, ctx)) out.push(line);
    }
  }
  return out;
}

/** `eks-log-lake parse [FILE...]`: prints the raw NDJSON records of subscription messages. */
export function parseCommand(): Command {
  return new Command('parse')
    .description(
      'print the raw NDJSON records for CloudWatch Logs subscription messages (gzip or JSON, one per file, or NDJSON one per line)',
    )
    .argument('[files...]', 'input files; none or - reads stdin')
    .option('--region <region>', 'region written into every record', process.env.AWS_REGION || 'us-east-1')
    .action((files: string[], opts: { region: string }) => {
      const names = files.length === 0 ? ['-'] : files;
      for (const name of names) {
        const bytes = name === '-' ? readFileSync(0) : readFileSync(name);
        const lines = parseInputsToLines([{ name: name === '-' ? '<stdin>' : name, bytes }], { region: opts.region });
        if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
      }
    });
}
