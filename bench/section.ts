/** Options every bench section receives. */
export interface BenchSectionOptions {
  /** Size of the generated input, in MB of log text. */
  readonly sizeMb: number;
  /** Progress and human-readable results (stderr under --json). */
  readonly log: (s: string) => void;
}

/**
 * One section of `npm run bench`: a file in bench/sections/ exporting `section`. Its result keys
 * appear under the section's name in the JSON output (`transform.mb_per_s`).
 */
export interface BenchSection {
  readonly name: string;
  run(opts: BenchSectionOptions): Promise<Record<string, number>>;
}
