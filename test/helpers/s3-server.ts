import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CreateBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** The part of s3rver's (untyped) filesystem store the helper uses. */
interface S3rverStore {
  getResourcePath(bucket: string, key: string, resource: 'object'): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<unknown>;
  putObject(object: {
    bucket: string;
    key: string;
    content: Buffer | NodeJS.ReadableStream;
    metadata: Record<string, string>;
  }): Promise<{ size: number; md5: string }>;
  listObjects(
    bucket: string,
    options: { prefix?: string },
  ): Promise<{ objects: { key: string; size: number; lastModifiedDate: Date; metadata: Record<string, string> }[] }>;
}

/** The S3 operations the proxy recognises (path-style requests). */
export type S3Operation =
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'ListObjectsV2'
  | 'DeleteObjects'
  | 'DeleteObject'
  | 'Other';

/** What an injected fault does to a matching request. */
export type S3FaultKind =
  /** 500 InternalError, request not forwarded. */
  | 'InternalError'
  /** 503 SlowDown, request not forwarded. */
  | 'SlowDown'
  /** 409 ConditionalRequestConflict, request not forwarded. */
  | 'ConditionalRequestConflict'
  /** 403 AccessDenied (an IAM, bucket policy or KMS denial), request not forwarded. */
  | 'AccessDenied'
  /** GetObject forwarded, but the connection is cut after `afterBytes` body bytes. */
  | 'TruncateBody';

export interface S3FaultRule {
  readonly kind: S3FaultKind;
  /** Operation to hit (default: any). */
  readonly op?: S3Operation;
  /** Key (exact string) or pattern the request's object key must match (default: any). */
  readonly key?: string | RegExp;
  /** How many matching requests to hit before the rule is spent (default 1). */
  readonly times?: number;
  /** For TruncateBody: body bytes sent before the cut (default 1). */
  readonly afterBytes?: number;
}

/** Injects faults into the proxy's traffic; rules are consumed first-added first. */
export interface FaultControl {
  /** Adds a rule; it fires on the next `times` matching requests. */
  inject(rule: S3FaultRule): void;
  /** Shorthands for the common rules. */
  internalErrors(times: number, op?: S3Operation, key?: string | RegExp): void;
  slowDown(times: number, op?: S3Operation, key?: string | RegExp): void;
  conditionalConflicts(times: number, key?: string | RegExp): void;
  truncateGets(times: number, afterBytes: number, key?: string | RegExp): void;
  accessDenied(times: number, op?: S3Operation, key?: string | RegExp): void;
  /** Drops every pending rule. */
  clear(): void;
  /** Faults still to fire. */
  pending(): number;
  /** Faults fired so far, in order. */
  readonly fired: { op: S3Operation; key: string | undefined; kind: S3FaultKind }[];
  /** Requests seen, by operation (injected ones included). */
  readonly requests: Record<S3Operation, number>;
}

export interface S3TestServer {
  /** Proxy endpoint the client talks to (`http://127.0.0.1:<port>`). */
  readonly endpoint: string;
  /** s3rver itself, without the proxy's conditional writes, ordering and faults. */
  readonly upstreamEndpoint: string;
  readonly bucket: string;
  /** An S3 client wired to the proxy with the settings s3rver needs. */
  readonly client: S3Client;
  readonly faults: FaultControl;
  /** Makes a further client (e.g. other retry settings) against the same proxy. */
  makeClient(config?: Partial<S3ClientConfig>): S3Client;
  close(): Promise<void>;
}

export interface S3TestServerOptions {
  /** Bucket created at start (≥3 characters for s3rver; default `lake`). */
  readonly bucket?: string;
  /** Overrides for the returned client (e.g. `maxAttempts`). */
  readonly clientConfig?: Partial<S3ClientConfig>;
}

/**
 * Starts s3rver on 127.0.0.1 (random port) and a loopback proxy in front of it that adds what
 * s3rver lacks: If-None-Match/If-Match on PutObject and If-Match on GetObject, checked against
 * the upstream with HEAD and serialised per key; plus faults injected on cue.
 */
export async function startS3TestServer(options: S3TestServerOptions = {}): Promise<S3TestServer> {
  const bucket = options.bucket ?? 'lake';
  const directory = mkdtempSync(join(tmpdir(), 's3rver-'));
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const upstream = (await s3rver.run()) as AddressInfo;
  makePutObjectAtomic((s3rver as unknown as { store: S3rverStore }).store);
  const upstreamAgent = new Agent({ keepAlive: true, maxSockets: 32 });
  const faults = new FaultState();
  const keyLocks = new Map<string, Promise<void>>();

  const proxy = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'InternalError', `proxy: ${String(error)}`, req.method === 'HEAD');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = parseTarget(req);
    faults.requests[target.op]++;
    const fault = faults.take(target.op, target.key);
    if (fault && fault.kind !== 'TruncateBody') {
      await drain(req);
      const status = FAULT_STATUS[fault.kind];
      sendError(res, status, fault.kind, `injected ${fault.kind}`, req.method === 'HEAD');
      return;
    }
    if (target.op === 'ListObjectsV2' && !target.query.has('encoding-type')) {
      await drain(req);
      await serveList(res, target.path, target.query);
      return;
    }
    // s3rver reads an object's metadata and content separately: one request per key at a time
    // keeps a read from pairing one version's ETag with another's bytes.
    if (target.key !== undefined && target.op !== 'Other') {
      await withLock(keyLocks, target.key, () => handleObject(req, res, target, fault));
      return;
    }
    await forward(req, res, undefined);
  }

  async function handleObject(
    req: IncomingMessage,
    res: ServerResponse,
    target: { op: S3Operation; path: string },
    fault: S3FaultRule | undefined,
  ): Promise<void> {
    if (target.op === 'PutObject') {
      const verdict = await checkPutPreconditions(req, target.path);
      if (verdict) {
        await drain(req);
        sendError(res, verdict.status, verdict.code, verdict.message, false);
        return;
      }
      await forward(req, res, undefined);
      return;
    }
    if (target.op === 'GetObject' && typeof req.headers['if-match'] === 'string') {
      const current = await headUpstream(target.path);
      if (current.status === 404) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.', false);
      if (current.etag !== req.headers['if-match']) {
        return sendError(
          res,
          412,
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          false,
        );
      }
    }
    await forward(req, res, fault?.kind === 'TruncateBody' ? Math.max(0, fault.afterBytes ?? 1) : undefined);
  }

  /** S3's answers: If-None-Match * on an existing key ⇒ 412; If-Match on a missing key ⇒ 404; stale ETag ⇒ 412. */
  async function checkPutPreconditions(
    req: IncomingMessage,
    path: string,
  ): Promise<{ status: number; code: string; message: string } | undefined> {
    const ifNoneMatch = req.headers['if-none-match'];
    const ifMatch = req.headers['if-match'];
    if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
    const current = await headUpstream(path);
    const failed = {
      status: 412,
      code: 'PreconditionFailed',
      message: 'At least one of the pre-conditions you specified did not hold',
    };
    if (ifNoneMatch !== undefined) {
      if (ifNoneMatch !== '*') return { status: 501, code: 'NotImplemented', message: 'If-None-Match accepts only *' };
      if (current.status === 200) return failed;
    }
    if (typeof ifMatch === 'string') {
      if (current.status === 404)
        return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
      if (current.etag !== ifMatch) return failed;
    }
    return undefined;
  }

  /**
   * ListObjectsV2 in S3's UTF-8 byte order. s3rver walks its folders instead, so its order (and
   * therefore its paging by last key, which can skip keys) differs from S3's; the proxy reads the
   * whole prefix from s3rver's store, sorts it and pages it itself (Delimiter included).
   */
  async function serveList(res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const prefix = query.get('prefix') ?? '';
    const maxKeys = Math.min(1000, Number(query.get('max-keys') ?? '1000'));
    const token = query.get('continuation-token');
    const after = token
      ? Buffer.from(token.replace(/^proxy:/, ''), 'base64url').toString('utf8')
      : (query.get('start-after') ?? '');
    const bucketName = path.replace(/^\//, '').split('/')[0]!;
    // Straight from s3rver's store: its HTTP paging cuts at 1,000 keys in folder-walk order.
    const listing = await (s3rver as unknown as { store: S3rverStore }).store.listObjects(bucketName, { prefix });
    const all = listing.objects
      .map((o) => ({
        key: o.key,
        lastModified: o.lastModifiedDate.toISOString(),
        etag: String(o.metadata.etag ?? ''),
        size: String(o.size),
      }))
      .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    const delimiter = query.get('delimiter') ?? '';
    const afterBytes = Buffer.from(after);
    // Entries are keys and, with a delimiter, common prefixes; each counts once towards MaxKeys.
    const entries: (
      | { kind: 'key'; key: string; lastModified: string; etag: string; size: string }
      | { kind: 'prefix'; key: string }
    )[] = [];
    for (const o of all) {
      if (Buffer.compare(Buffer.from(o.key), afterBytes) <= 0) continue;
      const cut = delimiter ? o.key.indexOf(delimiter, prefix.length) : -1;
      if (cut < 0) {
        entries.push({ kind: 'key', ...o });
        continue;
      }
      const common = o.key.slice(0, cut + delimiter.length);
      if (after.startsWith(common)) continue; // resumed after this common prefix
      if (entries[entries.length - 1]?.key !== common) entries.push({ kind: 'prefix', key: common });
    }
    const page = entries.slice(0, Math.max(0, maxKeys));
    const truncated = entries.length > page.length;
    const next = truncated ? `proxy:${Buffer.from(page[page.length - 1]!.key).toString('base64url')}` : undefined;
    const keys = page.flatMap((e) => (e.kind === 'key' ? [e] : []));
    const prefixes = page.flatMap((e) => (e.kind === 'prefix' ? [e.key] : []));
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Name>${xmlEscape(bucketName)}</Name><Prefix>${xmlEscape(prefix)}</Prefix>` +
      (delimiter ? `<Delimiter>${xmlEscape(delimiter)}</Delimiter>` : '') +
      (token ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : '') +
      (!token && query.has('start-after') ? `<StartAfter>${xmlEscape(after)}</StartAfter>` : '') +
      `<KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
      (next ? `<NextContinuationToken>${next}</NextContinuationToken>` : '') +
      keys
        .map(
          (o) =>
            `<Contents><Key>${xmlEscape(o.key)}</Key><LastModified>${o.lastModified}</LastModified>` +
            `<ETag>${xmlEscape(o.etag)}</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
        )
        .join('') +
      prefixes.map((p) => `<CommonPrefixes><Prefix>${xmlEscape(p)}</Prefix></CommonPrefixes>`).join('') +
      '</ListBucketResult>';
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function headUpstream(path: string): Promise<{ status: number; etag: string | undefined }> {
    return new Promise((resolve, reject) => {
      const up = request(
        { host: '127.0.0.1', port: upstream.port, method: 'HEAD', path, agent: upstreamAgent },
        (response) => {
          response.resume();
          response.on('end', () => {
            const etag = response.headers.etag;
            resolve({ status: response.statusCode ?? 0, etag: typeof etag === 'string' ? etag : undefined });
          });
        },
      );
      up.on('error', reject);
      up.end();
    });
  }

  /** Forwards unchanged (the SigV4 signature covers Host and the conditional headers). */
  function forward(req: IncomingMessage, res: ServerResponse, truncateAfter: number | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const up = request(
        {
          host: '127.0.0.1',
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent: upstreamAgent,
        },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          // The first body byte means s3rver has opened the (renamed-into-place) file: the key
          // lock can go, so a slow reader never blocks writers of the same key.
          response.once('data', () => resolve());
          if (truncateAfter === undefined || (response.statusCode ?? 0) >= 300) {
            response.pipe(res);
            response.on('end', () => resolve());
            response.on('error', reject);
            return;
          }
          let sent = 0;
          response.on('data', (chunk: Buffer) => {
            if (sent >= truncateAfter) return;
            const part = chunk.subarray(0, truncateAfter - sent);
            sent += part.length;
            res.write(part);
            if (sent >= truncateAfter) cut();
          });
          response.on('end', cut);
          let done = false;
          function cut(): void {
            if (done) return;
            done = true;
            response.destroy();
            // Flush what was written, then drop the connection with the body incomplete.
            const socket = res.socket;
            socket?.end(() => socket.destroy());
            resolve();
          }
        },
      );
      up.on('error', reject);
      req.pipe(up);
    });
  }

  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const makeClient = (config: Partial<S3ClientConfig> = {}) =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...config,
    });
  const client = makeClient(options.clientConfig);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));

  return {
    endpoint,
    upstreamEndpoint: `http://127.0.0.1:${upstream.port}`,
    bucket,
    client,
    faults,
    makeClient,
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        proxy.closeAllConnections();
      });
      upstreamAgent.destroy();
      await s3rver.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

const FAULT_STATUS: Record<Exclude<S3FaultKind, 'TruncateBody'>, number> = {
  InternalError: 500,
  SlowDown: 503,
  ConditionalRequestConflict: 409,
  AccessDenied: 403,
};

class FaultState implements FaultControl {
  private rules: { rule: S3FaultRule; left: number }[] = [];
  readonly fired: { op: S3Operation; key: string | undefined; kind: S3FaultKind }[] = [];
  readonly requests: Record<S3Operation, number> = {
    PutObject: 0,
    GetObject: 0,
    HeadObject: 0,
    ListObjectsV2: 0,
    DeleteObjects: 0,
    DeleteObject: 0,
    Other: 0,
  };

  inject(rule: S3FaultRule): void {
    const left = rule.times ?? 1;
    if (!Number.isInteger(left) || left < 1) throw new Error(`fault rule times must be a positive integer: ${left}`);
    if (rule.kind === 'TruncateBody' && rule.op !== undefined && rule.op !== 'GetObject') {
      throw new Error('TruncateBody applies to GetObject only');
    }
    this.rules.push({ rule: rule.kind === 'TruncateBody' ? { ...rule, op: 'GetObject' } : rule, left });
  }
  internalErrors(times: number, op?: S3Operation, key?: string | RegExp): void {
    this.inject({ kind: 'InternalError', times, op, key });
  }
  slowDown(times: number, op?: S3Operation, key?: string | RegExp): void {
    this.inject({ kind: 'SlowDown', times, op, key });
  }
  conditionalConflicts(times: number, key?: string | RegExp): void {
    this.inject({ kind: 'ConditionalRequestConflict', times, op: 'PutObject', key });
  }
  truncateGets(times: number, afterBytes: number, key?: string | RegExp): void {
    this.inject({ kind: 'TruncateBody', times, afterBytes, op: 'GetObject', key });
  }
  accessDenied(times: number, op?: S3Operation, key?: string | RegExp): void {
    this.inject({ kind: 'AccessDenied', times, op, key });
  }
  clear(): void {
    this.rules = [];
  }
  pending(): number {
    return this.rules.reduce((n, r) => n + r.left, 0);
  }

  /** The first live rule matching this request, consumed by one. */
  take(op: S3Operation, key: string | undefined): S3FaultRule | undefined {
    const entry = this.rules.find((r) => r.left > 0 && matches(r.rule, op, key));
    if (!entry) return undefined;
    entry.left--;
    if (entry.left === 0) this.rules = this.rules.filter((r) => r !== entry);
    this.fired.push({ op, key, kind: entry.rule.kind });
    return entry.rule;
  }
}

function matches(rule: S3FaultRule, op: S3Operation, key: string | undefined): boolean {
  if (rule.op !== undefined && rule.op !== op) return false;
  if (rule.key === undefined) return true;
  if (key === undefined) return false;
  return typeof rule.key === 'string' ? rule.key === key : rule.key.test(key);
}

/** Path-style request → operation, raw path and decoded key. */
function parseTarget(req: IncomingMessage): {
  op: S3Operation;
  path: string;
  key: string | undefined;
  query: URLSearchParams;
} {
  const url = new URL(req.url ?? '/', 'http://proxy.invalid');
  const rawPath = url.pathname;
  const slash = rawPath.indexOf('/', 1);
  const key = slash >= 0 && slash < rawPath.length - 1 ? decodeURIComponent(rawPath.slice(slash + 1)) : undefined;
  const q = url.searchParams;
  let op: S3Operation = 'Other';
  if (key !== undefined) {
    if (req.method === 'PUT' && !q.has('uploadId') && !q.has('partNumber') && !req.headers['x-amz-copy-source']) {
      op = 'PutObject';
    } else if (req.method === 'GET' && [...q.keys()].every((k) => k.startsWith('x-id') || k.startsWith('response-'))) {
      op = 'GetObject';
    } else if (req.method === 'HEAD') op = 'HeadObject';
    else if (req.method === 'DELETE' && !q.has('uploadId')) op = 'DeleteObject';
  } else if (req.method === 'GET' && q.get('list-type') === '2') op = 'ListObjectsV2';
  else if (req.method === 'POST' && q.has('delete')) op = 'DeleteObjects';
  return { op, path: rawPath, key, query: q };
}

function sendError(res: ServerResponse, status: number, code: string, message: string, headOnly: boolean): void {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<RequestId>proxy-${Date.now().toString(16)}</RequestId></Error>`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': headOnly ? 0 : Buffer.byteLength(body),
  });
  res.end(headOnly ? undefined : body);
}

function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded) return resolve();
    req.on('end', resolve);
    req.on('error', () => resolve());
    req.resume();
  });
}

async function withLock(locks: Map<string, Promise<void>>, key: string, fn: () => Promise<void>): Promise<void> {
  const previous = locks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const tail = previous.then(() => gate);
  locks.set(key, tail);
  await previous;
  try {
    await fn();
  } finally {
    release();
    if (locks.get(key) === tail) locks.delete(key);
  }
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

/**
 * s3rver 3.7.1 writes an object's file in place and answers before the write stream has
 * flushed, so a read right after a PUT can see a short file. Write to a temp file, wait for
 * the flush, rename into place, then write the metadata.
 */
function makePutObjectAtomic(store: S3rverStore): void {
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const partial = `${objectPath}.${randomUUID()}.partial`;
    const md5 = createHash('md5');
    let size = 0;
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        createWriteStream(partial),
      );
      await rename(partial, objectPath);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    const hex = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, hex);
    return { size, md5: hex };
  };
}
