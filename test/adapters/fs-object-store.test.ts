import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FS_STORE_INTERNAL_DIR, FsObjectStore, md5Etag } from '../../src/adapters/local/fs-object-store.ts';
import { InvalidInputError } from '../../src/core/errors.ts';

const run = promisify(execFile);

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('FsObjectStore specifics', () => {
  let dir: string;
  let store: FsObjectStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fs-store-'));
    store = new FsObjectStore(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    '',
    '/abs/key',
    'a//b',
    'a/',
    '../escape',
    'a/../../b',
    'a/./b',
    'nul\0byte',
    'back\\slash',
    FS_STORE_INTERNAL_DIR,
    `${FS_STORE_INTERNAL_DIR}/tmp/x`,
  ])('rejects the key %j', async (key) => {
    await expect(store.put(key, 'x')).rejects.toBeInstanceOf(InvalidInputError);
    await expect(store.get(key)).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('refuses a key that is a folder of other keys, and a key below an object, with a clear error', async () => {
    await store.put('a/b', '1');
    await expect(store.put('a', '2')).rejects.toThrow(/folder of that name exists/);
    await expect(store.put('a/b/c', '3')).rejects.toThrow(/parent of the key is an object/);
    expect(await store.get('a')).toBeUndefined();
    expect(await collect(store.list(''))).toHaveLength(1);
  });

  it('never shows a reader half a file while writers replace it', async () => {
    const a = Buffer.alloc(2 * 1024 * 1024, 'a');
    const b = Buffer.alloc(3 * 1024 * 1024, 'b');
    await store.put('atomic/obj', a);
    const writers = (async () => {
      for (let i = 0; i < 15; i++) await store.put('atomic/obj', i % 2 ? a : b);
    })();
    const seen = new Set<string>();
    let reads = 0;
    let done = false;
    void writers.finally(() => {
      done = true;
    });
    while (!done || reads < 5) {
      const got = (await store.get('atomic/obj'))!;
      const body = Buffer.from(got.body);
      const which = body.equals(a) ? 'a' : body.equals(b) ? 'b' : 'torn';
      seen.add(which);
      expect(got.etag).toBe(md5Etag(body));
      reads++;
    }
    await writers;
    expect(seen.has('torn')).toBe(false);
  });

  it('keeps streaming the version it opened when the object is replaced meanwhile', async () => {
    const v1 = Buffer.alloc(3 * 1024 * 1024, 1);
    await store.put('pin/obj', v1);
    const stream = (await store.getStream('pin/obj'))!;
    await store.put('pin/obj', 'v2');
    expect(Buffer.concat(await collect(stream)).equals(v1)).toBe(true);
  });

  it('leaves no temp or lock files behind, and prunes folders emptied by delete', async () => {
    await store.put('p/q/r/obj', '1');
    await store.put('p/q/r/obj', '2', { ifMatch: md5Etag('1') });
    await expect(store.put('p/q/r/obj', '3', { ifNoneMatch: '*' })).rejects.toThrow();
    await expect(store.put('p/q/r/obj', '3', { ifMatch: '"stale"' })).rejects.toThrow();
    expect(readdirSync(join(dir, FS_STORE_INTERNAL_DIR, 'tmp'))).toEqual([]);
    expect(readdirSync(join(dir, FS_STORE_INTERNAL_DIR, 'locks'))).toEqual([]);
    await store.delete(['p/q/r/obj']);
    expect(readdirSync(dir)).toEqual([FS_STORE_INTERNAL_DIR]);
  });

  it('sweeps temp files a crashed writer left, but not those of live writers', async () => {
    const tmp = join(dir, FS_STORE_INTERNAL_DIR, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const dead = (await run(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])).stdout;
    writeFileSync(join(tmp, `${dead}-0000-crashed`), 'half a file');
    writeFileSync(join(tmp, `${process.ppid}-0000-in-flight`), 'being written');
    await store.put('sweep/obj', 'x');
    expect(readdirSync(tmp)).toEqual([`${process.ppid}-0000-in-flight`]);
  });

  it('breaks a lock left by a process that no longer exists', async () => {
    const { etag } = await store.put('locked/obj', 'v1');
    const { createHash } = await import('node:crypto');
    const lockDir = join(dir, FS_STORE_INTERNAL_DIR, 'locks');
    mkdirSync(lockDir, { recursive: true });
    const dead = await run(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    writeFileSync(join(lockDir, `${createHash('sha1').update('locked/obj').digest('hex')}.lock`), dead.stdout);
    await store.put('locked/obj', 'v2', { ifMatch: etag });
    expect(Buffer.from((await store.get('locked/obj'))!.body).toString()).toBe('v2');
  });

  it('reports the ETag of the content that won when writers race on one key', async () => {
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 8 }, (_, i) => store.put('race/obj', `round ${round} writer ${i}`)));
      const got = (await store.get('race/obj'))!;
      expect((await store.head('race/obj'))!.etag).toBe(md5Etag(got.body));
      expect((await collect(store.list('race/')))[0]!.etag).toBe(md5Etag(got.body));
    }
  });

  it('reports the current ETag to one instance while another rewrites the key with same-size bodies', async () => {
    const other = new FsObjectStore(dir);
    for (let i = 0; i < 200; i++) {
      const body = `{"n":${String(i).padStart(4, '0')}}`;
      await (i % 2 ? store : other).put('twins/obj', body);
      expect((await store.head('twins/obj'))!.etag).toBe(md5Etag(body));
      expect((await other.head('twins/obj'))!.etag).toBe(md5Etag(body));
    }
  });

  it('sees a file changed behind its back (ETag follows the content)', async () => {
    await store.put('ext/obj', 'one');
    expect((await store.head('ext/obj'))!.etag).toBe(md5Etag('one'));
    writeFileSync(join(dir, 'ext/obj'), 'two, longer');
    expect((await store.head('ext/obj'))!.etag).toBe(md5Etag('two, longer'));
    expect((await collect(store.list('ext/')))[0]!.etag).toBe(md5Etag('two, longer'));
  });

  it('keeps conditional writes exclusive across processes', async () => {
    await store.put('race/counter.json', JSON.stringify({ n: 0 }));
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
    const worker = join(__dirname, 'fs-store-worker.ts');
    const children = await Promise.all(
      ['p1', 'p2', 'p3'].map((id) => run(tsx, [worker, dir, id, '15'], { timeout: 60_000 })),
    );
    const results = children.map((c) => JSON.parse(c.stdout) as { id: string; won: boolean });
    expect(results.filter((r) => r.won)).toHaveLength(1);
    const lease = JSON.parse(Buffer.from((await store.get('race/lease.json'))!.body).toString());
    expect(lease.owner).toBe(results.find((r) => r.won)!.id);
    expect(JSON.parse(Buffer.from((await store.get('race/counter.json'))!.body).toString())).toEqual({ n: 45 });
  });
});
