import { parseCuratedKey } from './layout.ts';
import { sha256Hex } from './plan.ts';

/** Where publishing records the generations each catalog switch retires (read by GC). */
export const RETIRED_PREFIX = 'control/gc/retired/';

/** A generation a switch moves a partition away from. */
export interface RetiredGeneration {
  readonly values: readonly string[];
  /** The generation prefix the catalog pointed at before the switch. */
  readonly location: string;
  /** The generation the switch points the partition at. */
  readonly replacedBy: string;
}

/** One catalog write's retirements, written before the write itself. */
export interface RetiredRecord {
  readonly planId: string;
  readonly table: string;
  /** When the publisher wrote the record (its clock); GC also takes the object's own time. */
  readonly retiredAt: string;
  readonly generations: readonly RetiredGeneration[];
}

/**
 * The record's key: one per plan, table and set of retired locations, so a retried publish
 * that switches the same partitions rewrites its own record and a different set never
 * overwrites another's.
 */
export function retiredRecordKey(planId: string, table: string, generations: readonly RetiredGeneration[]): string {
  const digest = sha256Hex(generations.map((g) => `${g.location}\n`).join('')).slice(0, 16);
  return `${RETIRED_PREFIX}${planId}/${table}-${digest}.json`;
}

/**
 * Parses a retirement record, keeping only entries whose location is a generation of the
 * record's table and partition: anything else would let a stray file aim GC elsewhere.
 * Returns undefined when the text is not a record at all.
 */
export function parseRetiredRecord(text: string): RetiredRecord | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.planId !== 'string' || typeof r.table !== 'string' || typeof r.retiredAt !== 'string') return undefined;
  if (!Array.isArray(r.generations)) return undefined;
  const generations: RetiredGeneration[] = [];
  for (const g of r.generations as unknown[]) {
    if (typeof g !== 'object' || g === null) continue;
    const { values, location, replacedBy } = g as Record<string, unknown>;
    if (typeof location !== 'string' || typeof replacedBy !== 'string' || !Array.isArray(values)) continue;
    const parsed = parseCuratedKey(location);
    if (!parsed?.generation || parsed.prefix !== location || parsed.table !== r.table) continue;
    if (parsed.values.join('/') !== values.join('/')) continue;
    generations.push({ values: parsed.values, location, replacedBy });
  }
  return { planId: r.planId, table: r.table, retiredAt: r.retiredAt, generations };
}
