import { InvalidInputError } from '../core/errors.ts';
import type { CatalogPartition } from '../ports.ts';

const TABLE_NAME = /^[a-z][a-z0-9_]{0,254}$/;

/** Identity of a partition: its values, in key order. */
export function partitionId(values: readonly string[]): string {
  return JSON.stringify(values);
}

/** Orders partitions by their values, element by element. */
export function comparePartitions(a: CatalogPartition, b: CatalogPartition): number {
  const n = Math.min(a.values.length, b.values.length);
  for (let i = 0; i < n; i++) {
    if (a.values[i] !== b.values[i]) return a.values[i]! < b.values[i]! ? -1 : 1;
  }
  return a.values.length - b.values.length;
}

/** Rejects table names that are not lower_snake identifiers (they become keys and Glue names). */
export function assertTableName(table: string): void {
  if (!TABLE_NAME.test(table)) throw new InvalidInputError(`invalid catalog table name: ${JSON.stringify(table)}`);
}

/** Rejects a location that is not a lake-relative folder prefix (`curated/…/`). */
export function assertLakeLocation(location: string): void {
  const bad =
    !location.endsWith('/') ||
    location.startsWith('/') ||
    location.includes('://') ||
    location
      .split('/')
      .slice(0, -1)
      .some((s) => s === '' || s === '.' || s === '..');
  if (bad) throw new InvalidInputError(`partition location must be a lake-relative folder ending in /: ${location}`);
}

/**
 * Validates a putPartitions request and returns it without exact duplicates. Two entries with
 * the same values but different locations are a caller bug and rejected.
 */
export function normalizePartitions(table: string, partitions: readonly CatalogPartition[]): CatalogPartition[] {
  assertTableName(table);
  const byId = new Map<string, CatalogPartition>();
  for (const p of partitions) {
    if (p.values.length === 0 || p.values.some((v) => typeof v !== 'string' || v.length === 0)) {
      throw new InvalidInputError(`${table}: partition values must be non-empty strings: ${partitionId(p.values)}`);
    }
    assertLakeLocation(p.location);
    const id = partitionId(p.values);
    const seen = byId.get(id);
    if (seen && seen.location !== p.location) {
      throw new InvalidInputError(`${table}: partition ${id} given twice with different locations`);
    }
    byId.set(id, { values: [...p.values], location: p.location });
  }
  return [...byId.values()];
}
