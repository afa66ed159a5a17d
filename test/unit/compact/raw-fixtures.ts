// Builders of real-shaped raw objects for compaction tests: sample lines from
// test/fixtures/samples, re-timed to a chosen hour, wrapped in subscription messages and
// turned into raw NDJSON by the transform's own toRawRecordLines.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { toRawRecordLines } from '../../../src/core/parse/index.ts';
import { type CwlLogEvent, type KnownLogType, LOG_TYPES, type SubscriptionMessage } from '../../../src/core/types.ts';

export const ACCOUNT = '111122223333';
export const CLUSTER = 'demo-cluster';
export const REGION = 'eu-west-1';
const GROUP = `/aws/eks/${CLUSTER}/cluster`;
const SAMPLES = join(__dirname, '..', '..', 'fixtures', 'samples');

function readLines(file: string): string[] {
  const text = readFileSync(join(SAMPLES, file), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (file.endsWith('.jsonl') ? (JSON.parse(l) as string) : l));
}

const SAMPLE_FILES: Record<KnownLogType, string[]> = {
  'kube-apiserver-audit': ['kube-apiserver-audit.ndjson'],
  'kube-apiserver': ['kube-apiserver.log', 'kube-apiserver.multiline.jsonl'],
  'kube-scheduler': ['kube-scheduler.log'],
  'kube-controller-manager': ['kube-controller-manager.log'],
  'cloud-controller-manager': ['cloud-controller-manager.log'],
  authenticator: ['authenticator.log'],
};
const cache = new Map<KnownLogType, string[]>();
export function sampleLines(type: KnownLogType): string[] {
  let l = cache.get(type);
  if (!l) {
    l = SAMPLE_FILES[type].flatMap(readLines);
    cache.set(type, l);
  }
  return l;
}

const isoMicros = (ms: number, us: number) =>
  `${new Date(ms).toISOString().slice(0, 23)}${String(us).padStart(3, '0')}Z`;
const two = (n: number) => String(n).padStart(2, '0');

/** The sample line re-timed to `ms`, everything else verbatim. */
export function retime(type: KnownLogType, line: string, ms: number): string {
  if (type === 'kube-apiserver-audit') {
    return line
      .replace(/"requestReceivedTimestamp":"[^"]*"/, `"requestReceivedTimestamp":"${isoMicros(ms, 123)}"`)
      .replace(/"stageTimestamp":"[^"]*"/, `"stageTimestamp":"${isoMicros(ms + 4, 456)}"`);
  }
  if (type === 'authenticator')
    return line.replace(/time="[^"]*"/, `time="${new Date(ms).toISOString().slice(0, 19)}Z"`);
  const d = new Date(ms);
  const head = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())} ${d.toISOString().slice(11, 19)}.${String(d.getUTCMilliseconds()).padStart(3, '0')}000`;
  return line.replace(/^([IWEF])\d{4} \d\d:\d\d:\d\d\.\d{6}/, `$1${head}`);
}

/** A CloudWatch-shaped 56-digit event id, unique per (stream, ms, seq) as in one log group. */
export function eventId(ms: number, seq: number, stream = 0): string {
  return `${String(ms).padStart(15, '0')}${String(stream).padStart(2, '0')}${String(seq).padStart(8, '0')}`.padEnd(
    56,
    '3',
  );
}

export function streamOf(type: KnownLogType): string {
  return `${type}-0123456789abcdef0123456789abcdef`;
}

/** `n` events of a stream type from its sample lines, one second apart from `startMs`. */
export function sampleEvents(type: KnownLogType, startMs: number, n: number, seq0 = 0): CwlLogEvent[] {
  const lines = sampleLines(type);
  return Array.from({ length: n }, (_, i) => {
    const ms = startMs + i * 1000;
    return {
      id: eventId(ms, seq0 + i, ALL_TYPES.indexOf(type)),
      timestamp: ms + 250,
      message: retime(type, lines[(seq0 + i) % lines.length]!, ms),
    };
  });
}

export function message(type: KnownLogType | 'other', logEvents: CwlLogEvent[], owner = ACCOUNT): SubscriptionMessage {
  return {
    messageType: 'DATA_MESSAGE',
    owner,
    logGroup: type === 'other' ? '/custom/app' : GROUP,
    logStream: type === 'other' ? 'app-stream' : streamOf(type),
    subscriptionFilters: ['eks-log-lake'],
    logEvents,
  };
}

/** Raw NDJSON lines exactly as the transform writes them. */
export function rawLines(msg: SubscriptionMessage): string[] {
  return toRawRecordLines(msg, { region: REGION });
}

/** A gzip raw object; several members when `members` > 1 (Firehose concatenates records). */
export function gzipObject(lines: readonly string[], members = 1): Uint8Array {
  if (members <= 1 || lines.length < 2) return gzipSync(lines.map((l) => `${l}\n`).join(''));
  const per = Math.ceil(lines.length / members);
  const parts: Buffer[] = [];
  for (let i = 0; i < lines.length; i += per)
    parts.push(
      gzipSync(
        lines
          .slice(i, i + per)
          .map((l) => `${l}\n`)
          .join(''),
      ),
    );
  return Buffer.concat(parts);
}

/**
 * A raw key that arrived at `arrivalMs`, named as Firehose names objects
 * (`<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<id>.gz`), with `name` as the id.
 */
export function rawKey(logType: string, arrivalMs: number, name: string): string {
  const iso = new Date(arrivalMs).toISOString();
  const stamp = iso.slice(0, 19).replace(/[T:]/g, '-');
  return `raw/log_type=${logType}/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/eks-log-lake-raw-1-${stamp}-${name}.gz`;
}

export const ALL_TYPES: readonly KnownLogType[] = LOG_TYPES;
