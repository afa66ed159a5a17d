import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chunkOfStagedKey,
  QUARANTINE_OBJECTS_PREFIX,
  quarantineReasonKey,
  stagingPrefix,
} from '../../../src/core/compact/layout.ts';

const VALUES = ['111122223333', 'prod-eu', '2026-11-27', '01'];

describe('chunkOfStagedKey', () => {
  it.each([
    ['c00003-0123456789ab-00000.parquet', 'c00003-0123456789ab'],
    ['c00003-0123456789ab-00017.json', 'c00003-0123456789ab'],
    ['s00001-00002.json', 's00001'],
    ['w7-123456.parquet', 'w7'],
  ])('names the chunk of staged file %s', (file, chunk) => {
    expect(chunkOfStagedKey(`${stagingPrefix('plan-1', 'audit_events', VALUES)}${file}`)).toBe(chunk);
  });

  it('gives back the chunk id a staged file was written under, whatever the id and sequence number', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        fc.nat({ max: 10_000_000 }),
        fc.constantFrom('parquet', 'json'),
        (chunkId, seq, ext) => {
          const key = `${stagingPrefix('plan-1', 'component_logs', VALUES)}${chunkId}-${String(seq).padStart(5, '0')}.${ext}`;
          expect(chunkOfStagedKey(key)).toBe(chunkId);
        },
      ),
    );
  });
});

describe('quarantineReasonKey', () => {
  it('puts the note beside the quarantined copy of the object', () => {
    const raw = 'raw/log_type=kube-apiserver-audit/dt=2026-11-27/hour=01/stream-1-2026-11-27-01-00-00-abc.gz';
    expect(quarantineReasonKey(raw)).toBe(`${QUARANTINE_OBJECTS_PREFIX}${raw}.reason.json`);
  });
});
