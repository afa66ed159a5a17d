import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/core/errors.ts';
import type { Catalog, CatalogPartition } from '../../src/ports.ts';

/** A catalog under test plus how to dispose of it; tables `audit_events` and `component_logs` must exist. */
export interface CatalogFixture {
  readonly catalog: Catalog;
  close(): Promise<void>;
}

/** Tables every fixture must provide, with the curated partition keys. */
export const CONTRACT_TABLES = ['audit_events', 'component_logs'] as const;
export const CONTRACT_PARTITION_KEYS = ['account', 'cluster', 'dt', 'hour'] as const;

/** A partition of `table` for hour `h` (0-based, spills into later days) in generation `gen`. */
export function partitionOf(table: string, h: number, gen: string, cluster = 'prod-eu'): CatalogPartition {
  const day = new Date(Date.UTC(2025, 0, 1) + h * 3_600_000);
  const dt = day.toISOString().slice(0, 10);
  const hour = String(day.getUTCHours()).padStart(2, '0');
  const values = ['111122223333', cluster, dt, hour];
  return {
    values,
    location: `curated/${table}/account=${values[0]}/cluster=${cluster}/dt=${dt}/hour=${hour}/gen=${gen}/`,
  };
}

const byValues = (a: CatalogPartition, b: CatalogPartition) =>
  JSON.stringify(a.values) < JSON.stringify(b.values) ? -1 : 1;

/**
 * Registers the Catalog contract for one adapter: create, move (generation switch), idempotence,
 * large batches, concurrent writers, input validation. Each test gets a fresh fixture.
 */
export function describeCatalogContract(name: string, open: () => Promise<CatalogFixture>): void {
  describe(`Catalog contract: ${name}`, () => {
    let fixture: CatalogFixture;
    let catalog: Catalog;
    beforeEach(async () => {
      fixture = await open();
      catalog = fixture.catalog;
    });
    afterEach(async () => {
      await fixture?.close();
    });

    it('knows no partitions of a fresh table', async () => {
      expect(await catalog.listPartitions('audit_events')).toEqual([]);
      expect(await catalog.getPartition('audit_events', partitionOf('audit_events', 0, 'a').values)).toBeUndefined();
    });

    it('creates partitions and returns them by values and in value order', async () => {
      const ps = [5, 1, 3].map((h) => partitionOf('audit_events', h, 'g1'));
      await catalog.putPartitions('audit_events', ps);
      expect(await catalog.listPartitions('audit_events')).toEqual([...ps].sort(byValues));
      expect(await catalog.getPartition('audit_events', ps[0]!.values)).toEqual(ps[0]);
      expect(await catalog.listPartitions('component_logs')).toEqual([]);
    });

    it('switches an existing partition to a new generation location and keeps one entry', async () => {
      const old = partitionOf('audit_events', 7, 'g1');
      const next = partitionOf('audit_events', 7, 'g2');
      await catalog.putPartitions('audit_events', [old]);
      await catalog.putPartitions('audit_events', [next]);
      expect(await catalog.getPartition('audit_events', old.values)).toEqual(next);
      expect(await catalog.listPartitions('audit_events')).toEqual([next]);
    });

    it('is idempotent: the same request twice leaves the same state', async () => {
      const ps = [0, 1, 2].map((h) => partitionOf('component_logs', h, 'g1'));
      await catalog.putPartitions('component_logs', ps);
      await catalog.putPartitions('component_logs', ps);
      await catalog.putPartitions('component_logs', [...ps, ps[1]!]);
      expect(await catalog.listPartitions('component_logs')).toEqual(ps);
    });

    it('handles one request mixing new, unchanged and moved partitions (F14)', async () => {
      const unchanged = partitionOf('audit_events', 1, 'g1');
      const moved = partitionOf('audit_events', 2, 'g1');
      await catalog.putPartitions('audit_events', [unchanged, moved]);
      const wanted = [unchanged, partitionOf('audit_events', 2, 'g2'), partitionOf('audit_events', 3, 'g2')];
      await catalog.putPartitions('audit_events', wanted);
      expect(await catalog.listPartitions('audit_events')).toEqual(wanted);
    });

    it('adds more than 100 partitions in one request (F16)', async () => {
      const ps = Array.from({ length: 250 }, (_, h) => partitionOf('audit_events', h, 'bf'));
      await catalog.putPartitions('audit_events', ps);
      const listed = await catalog.listPartitions('audit_events');
      expect(listed.length).toBe(250);
      expect(listed).toEqual([...ps].sort(byValues));
      const moved = ps.map((p, h) => (h % 2 === 0 ? partitionOf('audit_events', h, 'bf2') : p));
      await catalog.putPartitions('audit_events', moved);
      expect(await catalog.listPartitions('audit_events')).toEqual([...moved].sort(byValues));
    });

    it('loses no partition when writers add different partitions concurrently', async () => {
      const writers = Array.from({ length: 6 }, (_, w) =>
        Array.from({ length: 4 }, (_, i) => partitionOf('audit_events', w * 4 + i, `w${w}`)),
      );
      await Promise.all(writers.map((ps) => catalog.putPartitions('audit_events', ps)));
      expect(await catalog.listPartitions('audit_events')).toEqual(writers.flat().sort(byValues));
    });

    it('ends at one of the wanted locations when writers switch the same partition concurrently', async () => {
      await catalog.putPartitions('audit_events', [partitionOf('audit_events', 9, 'g0')]);
      const candidates = ['g1', 'g2', 'g3', 'g4'].map((g) => partitionOf('audit_events', 9, g));
      const results = await Promise.allSettled(candidates.map((p) => catalog.putPartitions('audit_events', [p])));
      const listed = await catalog.listPartitions('audit_events');
      expect(listed.length).toBe(1);
      expect(candidates.map((c) => c.location)).toContain(listed[0]!.location);
      // A writer may lose the race with a clear conflict, never silently; the winner must have succeeded.
      const winner = candidates.findIndex((c) => c.location === listed[0]!.location);
      expect(results[winner]!.status).toBe('fulfilled');
    });

    it.each([
      ['an absolute location', { values: ['1', 'c', '2025-01-01', '00'], location: '/curated/x/' }],
      ['an s3:// location', { values: ['1', 'c', '2025-01-01', '00'], location: 's3://bucket/curated/x/' }],
      ['a location without trailing slash', { values: ['1', 'c', '2025-01-01', '00'], location: 'curated/x' }],
      ['a location with ..', { values: ['1', 'c', '2025-01-01', '00'], location: 'curated/../control/' }],
      ['empty values', { values: [], location: 'curated/x/' }],
      ['an empty value', { values: ['1', '', '2025-01-01', '00'], location: 'curated/x/' }],
    ])('rejects %s with InvalidInputError and writes nothing', async (_label, bad) => {
      await expect(
        catalog.putPartitions('audit_events', [partitionOf('audit_events', 0, 'ok'), bad]),
      ).rejects.toBeInstanceOf(InvalidInputError);
      expect(await catalog.listPartitions('audit_events')).toEqual([]);
    });

    it('rejects one request naming a partition twice with different locations', async () => {
      const a = partitionOf('audit_events', 0, 'g1');
      const b = partitionOf('audit_events', 0, 'g2');
      await expect(catalog.putPartitions('audit_events', [a, b])).rejects.toBeInstanceOf(InvalidInputError);
    });

    it('rejects table names that are not lower_snake identifiers', async () => {
      for (const table of ['../x', 'Audit', 'a/b', '']) {
        await expect(catalog.listPartitions(table)).rejects.toBeInstanceOf(InvalidInputError);
      }
    });
  });
}
