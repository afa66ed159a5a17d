import { createHash, randomUUID } from 'node:crypto';
import type { BigIntStats, Dirent } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidInputError, PreconditionFailedError, RetryableError } from '../../core/errors.ts';
import type { ObjectInfo, ObjectStore, PutOptions } from '../../ports.ts';

/** Top-level folder the store keeps for itself (temp files, locks); never listed, never a key. */
export const FS_STORE_INTERNAL_DIR = '.fs-object-store';

const LOCK_WAIT_MS = 15_000;
const LOCK_STALE_MS = 60_000;
const TEMP_STALE_MS = 3_600_000;
const LIST_HEAD_CONCURRENCY = 16;
const ETAG_CACHE_LIMIT = 100_000;

/**
 * An {@link ObjectStore} over a folder: key `a/b/c` is the file `<rootDir>/a/b/c`.
 * Writes are atomic (temp file + rename), ETags are quoted MD5 hex like S3, and conditional
 * writes are race-safe within a process (per-key mutex) and across processes (link/O_EXCL).
 */
export class FsObjectStore implements ObjectStore {
  readonly rootDir: string;
  private readonly etagCache = new Map<string, { stamp: string; etag: string }>();
  private sweptTemp = false;

  constructor(rootDir: string) {
    this.rootDir = resolve(rootDir);
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const path = this.pathOf(key);
    if (options.ifMatch !== undefined && options.ifNoneMatch !== undefined) {
      throw new InvalidInputError(`put ${key}: ifMatch and ifNoneMatch are mutually exclusive`);
    }
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const etag = md5Etag(bytes);
    const tmp = await this.writeTemp(bytes);
    // rename and link keep the inode and mtime, so the temp file's stamp is the object's stamp
    // (taken before the move: afterwards another writer may already have replaced the object).
    let stamp = '';
    try {
      stamp = stampOf(await stat(tmp, { bigint: true }));
      if (options.ifNoneMatch === '*') {
        await withKeyMutex(path, () => this.linkIfAbsent(key, tmp, path));
      } else if (options.ifMatch !== undefined) {
        const wanted = quoteEtag(options.ifMatch);
        await withKeyMutex(path, () =>
          this.withFileLock(key, async () => {
            const current = await this.headPath(path, true);
            if (current === undefined) {
              throw new PreconditionFailedError(`put ${key}: If-Match ${wanted} but the object is absent`, key);
            }
            if (current.etag !== wanted) {
              throw new PreconditionFailedError(`put ${key}: If-Match ${wanted} but the ETag is ${current.etag}`, key);
            }
            await this.moveInto(key, tmp, path);
          }),
        );
      } else {
        await this.moveInto(key, tmp, path);
      }
    } finally {
      await unlink(tmp).catch(ignoreCode('ENOENT'));
    }
    this.rememberEtag(path, stamp, etag);
    return { etag };
  }

  async get(key: string): Promise<{ body: Uint8Array; etag: string } | undefined> {
    const handle = await open(this.pathOf(key), 'r').catch(absentAsUndefined);
    if (handle === undefined) return undefined;
    try {
      const info = await handle.stat({ bigint: true });
      if (!info.isFile()) return undefined;
      const body = await handle.readFile();
      const etag = md5Etag(body);
      this.rememberEtag(this.pathOf(key), stampOf(info), etag);
      return { body, etag };
    } catch (error) {
      if (isCode(error, 'EISDIR')) return undefined;
      throw error;
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    // Opening first pins the current file: a concurrent replace (rename) cannot mix versions.
    const handle = await open(this.pathOf(key), 'r').catch(absentAsUndefined);
    if (handle === undefined) return undefined;
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      return undefined;
    }
    return handle.createReadStream({ highWaterMark: 1 << 20 });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const info = await this.headPath(this.pathOf(key));
    return info && { key, ...info };
  }

  async *list(prefix: string, options: { startAfter?: string } = {}): AsyncIterable<ObjectInfo> {
    const slash = prefix.lastIndexOf('/');
    const startDir = slash >= 0 ? prefix.slice(0, slash + 1) : '';
    yield* this.walk(startDir, prefix, options.startAfter);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const path = this.pathOf(key);
      try {
        await unlink(path);
      } catch (error) {
        if (isCode(error, 'ENOENT') || isCode(error, 'EISDIR') || isCode(error, 'ENOTDIR')) continue;
        throw error;
      }
      await this.pruneEmptyParents(path);
    }
  }

  /** Absolute file path of a key; rejects keys that could escape the root or clash with folders. */
  private pathOf(key: string): string {
    validateKey(key);
    return join(this.rootDir, key);
  }

  private async writeTemp(bytes: Uint8Array): Promise<string> {
    const dir = join(this.rootDir, FS_STORE_INTERNAL_DIR, 'tmp');
    await mkdir(dir, { recursive: true });
    if (!this.sweptTemp) {
      this.sweptTemp = true;
      await sweepTempFiles(dir);
    }
    const tmp = join(dir, `${process.pid}-${randomUUID()}`);
    await writeFile(tmp, bytes, { flag: 'wx' });
    // File times tick coarsely and inodes are reused: a random sub-millisecond mtime keeps two
    // quick same-size writes from sharing an ETag-cache stamp.
    const mtime = (Date.now() + Math.random()) / 1000;
    await utimes(tmp, mtime, mtime);
    return tmp;
  }

  /** Atomic create-if-absent: link(2) fails with EEXIST when the target exists, across processes. */
  private async linkIfAbsent(key: string, tmp: string, path: string): Promise<void> {
    await this.withParents(key, path, async () => {
      try {
        await link(tmp, path);
      } catch (error) {
        if (isCode(error, 'EEXIST')) {
          throw new PreconditionFailedError(`put ${key}: If-None-Match * but the object exists`, key);
        }
        throw error;
      }
    });
  }

  private async moveInto(key: string, tmp: string, path: string): Promise<void> {
    await this.withParents(key, path, async () => {
      try {
        await rename(tmp, path);
      } catch (error) {
        if (isCode(error, 'EISDIR') || isCode(error, 'ENOTEMPTY') || isCode(error, 'EEXIST')) {
          throw new InvalidInputError(`put ${key}: a folder of that name exists (keys must not be prefixes of keys)`);
        }
        throw error;
      }
    });
  }

  /** Creates the parent folders and runs `op`, again if a concurrent delete pruned a parent meanwhile. */
  private async withParents(key: string, path: string, op: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(dirname(path), { recursive: true });
      } catch (error) {
        if (isCode(error, 'ENOTDIR') || isCode(error, 'EEXIST')) {
          throw new InvalidInputError(
            `put ${key}: a parent of the key is an object (keys must not be prefixes of keys)`,
          );
        }
        throw error;
      }
      try {
        await op();
        return;
      } catch (error) {
        if (!isCode(error, 'ENOENT') || attempt >= 5) throw error;
      }
    }
  }

  /** Cross-process mutual exclusion on one key: an O_EXCL lock file holding the owner's pid. */
  private async withFileLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const dir = join(this.rootDir, FS_STORE_INTERNAL_DIR, 'locks');
    await mkdir(dir, { recursive: true });
    const lockPath = join(dir, `${createHash('sha1').update(key).digest('hex')}.lock`);
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await writeFile(lockPath, String(process.pid), { flag: 'wx' });
        break;
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw error;
      }
      if (await isStaleLock(lockPath)) {
        await unlink(lockPath).catch(ignoreCode('ENOENT'));
        continue;
      }
      if (Date.now() > deadline) throw new RetryableError(`put ${key}: lock busy for ${LOCK_WAIT_MS} ms`);
      await new Promise((r) => setTimeout(r, 2 + Math.floor(Math.random() * 20)));
    }
    try {
      return await fn();
    } finally {
      await unlink(lockPath).catch(ignoreCode('ENOENT'));
    }
  }

  /**
   * Size, ETag and mtime of a file. The ETag comes from the cache when the file's stamp
   * (inode, size, mtime) is unchanged; `fresh` always hashes (conditional writes decide on it).
   */
  private async headPath(path: string, fresh = false): Promise<Omit<ObjectInfo, 'key'> | undefined> {
    const info = await stat(path, { bigint: true }).catch(absentAsUndefined);
    if (info === undefined || !info.isFile()) return undefined;
    const cached = this.etagCache.get(path);
    if (!fresh && cached?.stamp === stampOf(info)) {
      return { size: Number(info.size), etag: cached.etag, lastModified: new Date(Number(info.mtimeMs)) };
    }
    // Stat and hash through one descriptor so both describe the same version.
    const handle = await open(path, 'r').catch(absentAsUndefined);
    if (handle === undefined) return undefined;
    try {
      const current = await handle.stat({ bigint: true });
      if (!current.isFile()) return undefined;
      const etag = md5Etag(await handle.readFile());
      this.rememberEtag(path, stampOf(current), etag);
      return { size: Number(current.size), etag, lastModified: new Date(Number(current.mtimeMs)) };
    } finally {
      await handle.close();
    }
  }

  /** Remembers a file's ETag under its stamp, so listings need not hash unchanged files. */
  private rememberEtag(path: string, stamp: string, etag: string): void {
    if (this.etagCache.size >= ETAG_CACHE_LIMIT) this.etagCache.clear();
    this.etagCache.set(path, { stamp, etag });
  }

  private async *walk(dirKey: string, prefix: string, startAfter: string | undefined): AsyncGenerator<ObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.rootDir, dirKey), { withFileTypes: true });
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return;
      throw error;
    }
    // A folder sorts as `name/`, which makes a depth-first walk yield keys in S3's byte order.
    const items = entries
      .filter((e) => (e.isFile() || e.isDirectory()) && !(dirKey === '' && e.name === FS_STORE_INTERNAL_DIR))
      .map((e) => ({ name: dirKey + e.name + (e.isDirectory() ? '/' : ''), dir: e.isDirectory() }))
      .map((e) => ({ ...e, bytes: Buffer.from(e.name, 'utf8') }))
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    const after = startAfter === undefined ? undefined : Buffer.from(startAfter, 'utf8');
    const wanted = items.filter((item) =>
      item.dir
        ? (item.name.startsWith(prefix) || prefix.startsWith(item.name)) &&
          // Every key below sorts before startAfter unless startAfter itself lies inside the folder.
          !(after && Buffer.compare(item.bytes, after) < 0 && !startAfter!.startsWith(item.name))
        : item.name.startsWith(prefix) && !(after && Buffer.compare(item.bytes, after) <= 0),
    );
    for (let i = 0; i < wanted.length; ) {
      const item = wanted[i]!;
      if (item.dir) {
        yield* this.walk(item.name, prefix, startAfter);
        i++;
        continue;
      }
      // Head a run of consecutive files concurrently (ETags may need hashing), yield in order.
      let end = i;
      while (end < wanted.length && end - i < LIST_HEAD_CONCURRENCY && !wanted[end]!.dir) end++;
      const infos = await Promise.all(wanted.slice(i, end).map((f) => this.headPath(join(this.rootDir, f.name))));
      for (let j = 0; j < infos.length; j++) {
        const info = infos[j];
        if (info) yield { key: wanted[i + j]!.name, ...info };
      }
      i = end;
    }
  }

  /** Removes folders left empty by a delete, so listings and the tree stay tidy. */
  private async pruneEmptyParents(path: string): Promise<void> {
    let dir = dirname(path);
    while (dir.length > this.rootDir.length && dir.startsWith(this.rootDir)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty, already gone, or busy: all fine
      }
      dir = dirname(dir);
    }
  }
}

function stampOf(info: BigIntStats): string {
  return `${info.ino}:${info.size}:${info.mtimeNs}`;
}

/** Quoted lower-case MD5 hex, as S3 reports for single-part uploads. */
export function md5Etag(bytes: Uint8Array | string): string {
  return `"${createHash('md5').update(bytes).digest('hex')}"`;
}

/** Accepts an ETag with or without quotes and returns it quoted. */
export function quoteEtag(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

function validateKey(key: string): void {
  const bad =
    key.length === 0 ||
    key.startsWith('/') ||
    key.endsWith('/') ||
    key.includes('\0') ||
    key.includes('\\') ||
    key.split('/').some((s) => s === '' || s === '.' || s === '..') ||
    key === FS_STORE_INTERNAL_DIR ||
    key.startsWith(`${FS_STORE_INTERNAL_DIR}/`);
  if (bad) throw new InvalidInputError(`invalid object key for a folder store: ${JSON.stringify(key)}`);
}

/** Removes temp files a crashed writer left: its pid is gone, or the file is over an hour old. */
async function sweepTempFiles(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(name.split('-')[0]);
    if (pid === process.pid) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(absentAsUndefined);
    if (info === undefined) continue;
    if (!isProcessAlive(pid) || Date.now() - info.mtimeMs > TEMP_STALE_MS) {
      await unlink(path).catch(ignoreCode('ENOENT'));
    }
  }
}

function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isCode(error, 'ESRCH');
  }
}

async function isStaleLock(lockPath: string): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    if (Date.now() - info.mtimeMs > LOCK_STALE_MS) return true;
    const pid = Number(text);
    if (!Number.isInteger(pid) || pid <= 0) return Date.now() - info.mtimeMs > 1000; // half-written
    return !isProcessAlive(pid);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return false; // released meanwhile: just retry
    throw error;
  }
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

function ignoreCode(code: string): (error: unknown) => void {
  return (error) => {
    if (!isCode(error, code)) throw error;
  };
}

function absentAsUndefined(error: unknown): undefined {
  if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return undefined;
  throw error;
}

const keyTails = new Map<string, Promise<void>>();

/** Serialises `fn` per absolute path within this process (all store instances share it). */
async function withKeyMutex<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const previous = keyTails.get(path) ?? Promise.resolve();
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const tail = previous.then(() => gate);
  keyTails.set(path, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (keyTails.get(path) === tail) keyTails.delete(path);
  }
}
