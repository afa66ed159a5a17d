import {
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { PipelineError, PreconditionFailedError, RetryableError } from '../../core/errors.ts';
import type { ObjectInfo, ObjectStore, PutOptions } from '../../ports.ts';
import {
  describeError,
  errorNameOf,
  fullJitterDelay,
  httpStatusOf,
  type RetryOptions,
  retryWithBackoff,
  sleepMs,
} from './retry.ts';

/** S3 allows at most 1,000 keys per DeleteObjects call. */
export const DELETE_OBJECTS_BATCH = 1000;

export interface S3ObjectStoreProps {
  readonly client: S3Client;
  readonly bucket: string;
  /** Backoff for 409 ConditionalRequestConflict and for re-reading a broken body (5xx/503 are the SDK's). */
  readonly retry?: RetryOptions;
  /** Attempts to read one object body when the connection breaks mid-stream (default 4). */
  readonly readAttempts?: number;
  /** ListObjectsV2 MaxKeys (default 1,000, the S3 maximum). */
  readonly pageSize?: number;
}

/**
 * {@link ObjectStore} on one S3 bucket. Conditional puts map 412 to PreconditionFailedError and
 * retry 409 ConditionalRequestConflict; reads resume a broken body with a ranged If-Match GET;
 * a 403 on a read is "absent" when a LIST of exactly that key finds nothing.
 */
export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  readonly bucket: string;
  private readonly retry: RetryOptions;
  private readonly readAttempts: number;
  private readonly pageSize: number;

  constructor(props: S3ObjectStoreProps) {
    this.client = props.client;
    this.bucket = props.bucket;
    this.retry = props.retry ?? {};
    this.readAttempts = Math.max(1, props.readAttempts ?? 4);
    this.pageSize = props.pageSize ?? 1000;
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    try {
      const out = await retryWithBackoff(
        `PutObject ${key}`,
        () =>
          this.client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: key,
              Body: bytes,
              ContentLength: bytes.byteLength,
              ContentType: options.contentType,
              IfNoneMatch: options.ifNoneMatch,
              IfMatch: options.ifMatch,
            }),
          ),
        isConditionalRequestConflict,
        this.retry,
      );
      if (!out.ETag) throw new PipelineError(`PutObject ${key}: response has no ETag`);
      return { etag: out.ETag };
    } catch (error) {
      if (httpStatusOf(error) === 412 || errorNameOf(error) === 'PreconditionFailed') {
        const condition = options.ifNoneMatch ? 'If-None-Match *' : `If-Match ${options.ifMatch}`;
        throw new PreconditionFailedError(`PutObject ${key}: ${condition} failed (412)`, key);
      }
      // If-Match on a missing key is answered with 404 NoSuchKey rather than 412.
      if (options.ifMatch !== undefined && isNotFound(error)) {
        throw new PreconditionFailedError(
          `PutObject ${key}: If-Match ${options.ifMatch} but the object is absent`,
          key,
        );
      }
      throw error;
    }
  }

  async get(key: string): Promise<{ body: Uint8Array; etag: string } | undefined> {
    const stream = await this.openResumable(key);
    if (stream === undefined) return undefined;
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream.body) chunks.push(chunk);
    return { body: Buffer.concat(chunks), etag: stream.etag };
  }

  async getStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    return (await this.openResumable(key))?.body;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: out.ContentLength ?? 0, etag: out.ETag ?? '', lastModified: out.LastModified ?? new Date(0) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      if (httpStatusOf(error) === 403 && !(await this.listsKey(key, error))) return undefined;
      throw error;
    }
  }

  async *list(prefix: string, options: { startAfter?: string } = {}): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          MaxKeys: this.pageSize,
          ContinuationToken: token,
          StartAfter: token === undefined ? options.startAfter : undefined,
        }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '', lastModified: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !token) throw new PipelineError(`ListObjectsV2 ${prefix}: truncated page without token`);
    } while (token !== undefined);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_OBJECTS_BATCH) {
      const chunk = keys.slice(i, i + DELETE_OBJECTS_BATCH);
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const errors = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (errors.length > 0) {
        const first = errors
          .slice(0, 3)
          .map((e) => `${e.Key}: ${e.Code} ${e.Message ?? ''}`.trim())
          .join('; ');
        const message = `DeleteObjects: ${errors.length} of ${chunk.length} keys failed (${first})`;
        const transient = errors.every((e) => e.Code === 'InternalError' || e.Code === 'SlowDown');
        throw transient ? new RetryableError(message) : new PipelineError(message);
      }
    }
  }

  /**
   * GETs the object and returns a body that, when the connection breaks, re-requests the rest
   * with `Range` + `If-Match` (so it never splices two versions), up to `readAttempts` reads.
   */
  private async openResumable(key: string): Promise<{ etag: string; body: AsyncIterable<Uint8Array> } | undefined> {
    const first = await this.getOrAbsent(key);
    if (first === undefined) return undefined;
    const etag = first.ETag ?? '';
    return { etag, body: this.resumeBody(key, etag, first) };
  }

  private async getOrAbsent(key: string): Promise<GetObjectCommandOutput | undefined> {
    try {
      return await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      if (httpStatusOf(error) === 403 && !(await this.listsKey(key, error))) return undefined;
      throw error;
    }
  }

  /**
   * After a 403 on GET or HEAD: S3 answers a missing key with 403 unless s3:ListBucket is
   * granted without conditions, and our grants condition it on s3:prefix (absent from the
   * check S3 makes for a GET). A LIST of exactly the key is allowed: true if the key exists
   * (the 403 is a real denial, e.g. KMS); `denied` is rethrown when the LIST fails too.
   */
  private async listsKey(key: string, denied: unknown): Promise<boolean> {
    try {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key, MaxKeys: 1 }));
      return page.Contents?.[0]?.Key === key;
    } catch {
      throw denied;
    }
  }

  private async *resumeBody(key: string, etag: string, first: GetObjectCommandOutput): AsyncGenerator<Uint8Array> {
    const total = first.ContentLength;
    let out = first;
    let offset = 0;
    for (let read = 1; ; read++) {
      try {
        const body = out.Body as AsyncIterable<Uint8Array> | undefined;
        if (body === undefined) throw new PipelineError(`GetObject ${key}: response has no body`);
        for await (const chunk of body) {
          offset += chunk.byteLength;
          yield chunk;
        }
        if (total !== undefined && offset < total) {
          throw new PipelineError(`GetObject ${key}: body ended after ${offset} of ${total} bytes`);
        }
        return;
      } catch (error) {
        if (total !== undefined && offset >= total) return;
        if (read >= this.readAttempts) {
          throw new RetryableError(
            `GetObject ${key}: body broke ${read} times (last at byte ${offset}): ${describeError(error)}`,
            { cause: error },
          );
        }
      }
      await (this.retry.sleep ?? sleepMs)(fullJitterDelay(read, this.retry));
      try {
        out = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${offset}-`, IfMatch: etag }),
        );
      } catch (error) {
        if (httpStatusOf(error) === 412 || isNotFound(error)) {
          throw new RetryableError(`GetObject ${key}: object replaced or deleted while being read`, { cause: error });
        }
        throw error;
      }
    }
  }
}

/** S3's 409 for two conditional writes racing on one key; AWS says: retry. */
export function isConditionalRequestConflict(error: unknown): boolean {
  return errorNameOf(error) === 'ConditionalRequestConflict' || httpStatusOf(error) === 409;
}

function isNotFound(error: unknown): boolean {
  const name = errorNameOf(error);
  return name === 'NoSuchKey' || name === 'NotFound' || (httpStatusOf(error) === 404 && name !== 'NoSuchBucket');
}
