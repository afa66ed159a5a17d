import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3ObjectStore } from '../../src/adapters/aws/s3-object-store.ts';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { startS3TestServer } from '../helpers/s3-server.ts';
import { describeObjectStoreContract } from './object-store.contract.ts';

describeObjectStoreContract('FsObjectStore on a temp folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-store-'));
  return { store: new FsObjectStore(dir), close: async () => rmSync(dir, { recursive: true, force: true }) };
});

describeObjectStoreContract('S3ObjectStore on s3rver behind the conditional-write proxy', async () => {
  const server = await startS3TestServer();
  return { store: new S3ObjectStore({ client: server.client, bucket: server.bucket }), close: () => server.close() };
});

describeObjectStoreContract('MemoryObjectStore', async () => ({
  store: new MemoryObjectStore(),
  close: async () => {},
}));
