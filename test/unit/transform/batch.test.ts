import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resultJsonBytes, type TransformResultRecord } from '../../../src/core/transform/index.ts';

const recordArb: fc.Arbitrary<TransformResultRecord> = fc.oneof(
  fc.record({
    recordId: fc.oneof(fc.stringMatching(/^[0-9]{1,60}$/), fc.string({ unit: 'binary' })),
    result: fc.constant('Ok' as const),
    data: fc.base64String({ maxLength: 400 }),
    metadata: fc.record({ partitionKeys: fc.record({ log_type: fc.string({ unit: 'grapheme' }) }) }),
  }),
  fc.record({
    recordId: fc.string({ unit: 'binary' }),
    result: fc.constantFrom('Dropped' as const, 'ProcessingFailed' as const),
  }),
);

describe('resultJsonBytes', () => {
  it('equals the UTF-8 length of the serialised result record', () => {
    fc.assert(
      fc.property(recordArb, (r) => {
        expect(resultJsonBytes(r)).toBe(Buffer.byteLength(JSON.stringify(r)));
      }),
      { numRuns: 500 },
    );
  });

  it('sizes a data string that is not built yet', () => {
    const r: TransformResultRecord = {
      recordId: '1',
      result: 'Ok',
      metadata: { partitionKeys: { log_type: 'authenticator' } },
    };
    expect(resultJsonBytes(r, 8)).toBe(Buffer.byteLength(JSON.stringify({ ...r, data: 'AAAAAAAA' })));
  });
});
