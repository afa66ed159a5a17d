import type { RecordReingester } from '../../ports.ts';

/**
 * Local stand-in for the re-ingest path: keeps what would have gone back into Firehose.
 * `failNext` makes the next N calls report every record as failed (fault injection).
 */
export class RecordingReingester implements RecordReingester {
  readonly records: Uint8Array[] = [];
  calls = 0;
  private failing = 0;

  async reingest(records: readonly Uint8Array[]): Promise<{ failed: number }> {
    this.calls++;
    if (this.failing > 0) {
      this.failing--;
      return { failed: records.length };
    }
    this.records.push(...records);
    return { failed: 0 };
  }

  /** Makes the next `calls` reingest calls fail. */
  failNext(calls = 1): void {
    this.failing += calls;
  }

  /** Returns and forgets the recorded records (a local delivery loop feeds them back). */
  take(): Uint8Array[] {
    return this.records.splice(0, this.records.length);
  }
}
