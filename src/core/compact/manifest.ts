import { InvalidInputError } from '../errors.ts';
import type { CuratedTableName } from '../schema.ts';

/** One Parquet file of a generation. */
export interface ManifestFile {
  /** Lake-relative key. */
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  /** UTF-8 bytes of the NDJSON lines behind these rows; sizes later merges' memory use. */
  readonly textBytes: number;
}

/**
 * `_manifest.json` of a generation: written after every file, before the catalog switch.
 * Holds no clock reading, so a rerun of the same plan writes the same bytes.
 */
export interface PartitionManifest {
  readonly version: 1;
  readonly table: CuratedTableName;
  readonly values: readonly string[];
  readonly planId: string;
  /** This generation's prefix (what the catalog will point at). */
  readonly location: string;
  /** The generation this one was merged from, or null for a new partition. */
  readonly baseLocation: string | null;
  readonly rows: number;
  /** Rows this generation added over its base, and staged rows dropped as duplicates. */
  readonly addedRows: number;
  readonly duplicates: number;
  readonly files: readonly ManifestFile[];
  /** Raw objects whose events are in this generation (sorted, cumulative over generations). */
  readonly sources: readonly string[];
  /**
   * The staged files this generation merged over its base: their digest (part of its name, so
   * other inputs never reuse it) and the chunk ids that wrote them. Absent in older manifests.
   */
  readonly staged?: StagedInputs;
}

/** What a merge read from staging: a digest of every staged file (name, ETag, rows) and their chunks. */
export interface StagedInputs {
  readonly digest: string;
  readonly chunks: readonly string[];
}

/** Stable JSON text of a manifest (fixed member order, trailing newline). */
export function serializeManifest(m: PartitionManifest): string {
  const ordered: PartitionManifest = {
    version: 1,
    table: m.table,
    values: [...m.values],
    planId: m.planId,
    location: m.location,
    baseLocation: m.baseLocation,
    rows: m.rows,
    addedRows: m.addedRows,
    duplicates: m.duplicates,
    files: m.files.map((f) => ({ key: f.key, rows: f.rows, bytes: f.bytes, sha256: f.sha256, textBytes: f.textBytes })),
    sources: [...m.sources],
    ...(m.staged ? { staged: { digest: m.staged.digest, chunks: [...m.staged.chunks] } } : {}),
  };
  return `${JSON.stringify(ordered, null, 1)}\n`;
}

/** Parses and checks a manifest; throws InvalidInputError on anything unexpected. */
export function parseManifest(text: string): PartitionManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError('manifest is not JSON', { cause: err });
  }
  const o = m as Partial<PartitionManifest>;
  if (o?.version !== 1 || typeof o.location !== 'string' || !Array.isArray(o.files) || !Array.isArray(o.sources)) {
    throw new InvalidInputError('manifest has an unexpected shape');
  }
  const sum = o.files.reduce((n, f) => n + (f as ManifestFile).rows, 0);
  if (sum !== o.rows) throw new InvalidInputError(`manifest rows ${o.rows} != sum of files ${sum}`);
  return o as PartitionManifest;
}
