import { InvalidInputError, PreconditionFailedError } from '../../core/errors.ts';
import type { ObjectInfo, ObjectStore, PutOptions } from '../../ports.ts';
import { md5Etag, quoteEtag } from './fs-object-store.ts';

interface StoredObject {
  readonly body: Uint8Array;
  readonly etag: string;
  readonly lastModified: Date;
}

/**
 * An {@link ObjectStore} in a Map, for fast unit tests; same contract as the S3 and folder
 * stores (byte-order listing, quoted MD5 ETags, atomic conditional writes). `now` stamps writes.
 */
export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<string, StoredObject>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    if (key.length === 0) throw new InvalidInputError('object key must not be empty');
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
    const current = this.objects.get(key);
    if (options.ifNoneMatch === '*' && current) {
      throw new PreconditionFailedError(`put ${key}: If-None-Match * but the object exists`, key);
    }
    if (options.ifMatch !== undefined && current?.etag !== quoteEtag(options.ifMatch)) {
      throw new PreconditionFailedError(`put ${key}: If-Match ${options.ifMatch} does not hold`, key);
    }
    const etag = md5Etag(bytes);
    this.objects.set(key, { body: bytes, etag, lastModified: this.now() });
    return { etag };
  }

  async get(key: string): Promise<{ body: Uint8Array; etag: string } | undefined> {
    const o = this.objects.get(key);
    return o && { body: Buffer.from(o.body), etag: o.etag };
  }

  async getStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const o = this.objects.get(key);
    if (!o) return undefined;
    return (async function* () {
      for (let i = 0; i < o.body.byteLength || i === 0; i += 1 << 20) yield o.body.subarray(i, i + (1 << 20));
    })();
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const o = this.objects.get(key);
    return o && { key, size: o.body.byteLength, etag: o.etag, lastModified: o.lastModified };
  }

  async *list(prefix: string, options: { startAfter?: string } = {}): AsyncIterable<ObjectInfo> {
    const after = options.startAfter === undefined ? undefined : Buffer.from(options.startAfter);
    const keys = [...this.objects.keys()]
      .filter((k) => k.startsWith(prefix))
      .map((k) => ({ k, b: Buffer.from(k) }))
      .filter(({ b }) => after === undefined || Buffer.compare(b, after) > 0)
      .sort((x, y) => Buffer.compare(x.b, y.b));
    for (const { k } of keys) {
      const info = await this.head(k);
      if (info) yield info;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.objects.delete(k);
  }
}
