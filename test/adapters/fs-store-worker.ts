// Child process for the cross-process FsObjectStore test: races for a lease, then increments a counter.
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { PreconditionFailedError } from '../../src/core/errors.ts';

async function main(): Promise<void> {
  const [root, id, incrementsText] = process.argv.slice(2);
  const store = new FsObjectStore(root!);
  const won = await store.put('race/lease.json', JSON.stringify({ owner: id }), { ifNoneMatch: '*' }).then(
    () => true,
    (e: unknown) => {
      if (e instanceof PreconditionFailedError) return false;
      throw e;
    },
  );
  let conflicts = 0;
  for (let i = 0; i < Number(incrementsText); i++) {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 500) throw new Error('counter did not converge');
      const cur = (await store.get('race/counter.json'))!;
      const n = (JSON.parse(Buffer.from(cur.body).toString()) as { n: number }).n;
      try {
        await store.put('race/counter.json', JSON.stringify({ n: n + 1 }), { ifMatch: cur.etag });
        break;
      } catch (e) {
        if (!(e instanceof PreconditionFailedError)) throw e;
        conflicts++;
      }
    }
  }
  process.stdout.write(`${JSON.stringify({ id, won, conflicts })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
