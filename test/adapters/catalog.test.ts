import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GlueCatalog } from '../../src/adapters/aws/glue-catalog.ts';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { CONTRACT_PARTITION_KEYS, CONTRACT_TABLES, describeCatalogContract } from './catalog.contract.ts';
import { FakeGlue } from './fake-glue.ts';

describeCatalogContract('LocalCatalog over FsObjectStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-catalog-'));
  return {
    catalog: new LocalCatalog(new FsObjectStore(dir)),
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describeCatalogContract('GlueCatalog over a recorded-shape fake Glue', async () => {
  const glue = new FakeGlue();
  for (const t of CONTRACT_TABLES)
    glue.addTable('eks_logs', t, CONTRACT_PARTITION_KEYS, `s3://lake-bucket/curated/${t}/`);
  return {
    catalog: new GlueCatalog({
      client: glue,
      database: 'eks_logs',
      bucket: 'lake-bucket',
      retry: { sleep: async () => {} },
    }),
    close: async () => {},
  };
});
