import { describe, expect, expectTypeOf, it } from 'vitest';
import { decodeSubscriptionPayload } from '../../../src/core/decode.ts';
import { toRawRecords } from '../../../src/core/parse/index.ts';
import type { RawEnvelope, RawRecord } from '../../../src/core/types.ts';
import { CTX, dataMessage, gzipJson } from './helpers.ts';

describe('RawEnvelope', () => {
  it('types time and cwl_timestamp as nullable, as a bad_envelope record with an unusable timestamp has them', () => {
    // Checked by the typecheck (`tsc -p .` covers test/): the type must admit what the parser emits.
    expectTypeOf<RawEnvelope['time']>().toEqualTypeOf<string | null>();
    expectTypeOf<RawEnvelope['cwl_timestamp']>().toEqualTypeOf<number | null>();

    const message = dataMessage('kube-apiserver-audit-2b9c4f1e8d7a6b5c4d3e2f1a0b9c8d7e', ['{}']);
    const events = [{ id: '123', timestamp: -5, message: 'timestamp before the epoch' }];
    const [record] = toRawRecords(decodeSubscriptionPayload(gzipJson({ ...message, logEvents: events })), CTX);
    const parsed: RawRecord = record!;
    expect(parsed).toMatchObject({ parse_status: 'bad_envelope', event_id: '123', time: null, cwl_timestamp: null });
  });
});
