import { describe, expect, it } from 'vitest';
import { reviveError, serializeError } from '../../src/adapters/local/stage-workers.ts';
import { InvalidInputError, PreconditionFailedError, RetryableError } from '../../src/core/errors.ts';
import { RawObjectError } from '../../src/pipeline/compact-lines.ts';

// What a worker's error looks like once it has crossed to the caller's thread.
const crossed = (e: unknown) => reviveError(structuredClone(serializeError(e)));

const fsError = Object.assign(new Error("EACCES: permission denied, open '/lake/raw/x.gz'"), {
  code: 'EACCES',
  errno: -13,
  syscall: 'open',
});

describe('errors from stage workers', () => {
  it.each([
    [
      'InvalidInputError',
      new InvalidInputError('invalid object key for a folder store: "raw/.."'),
      InvalidInputError,
      {},
    ],
    [
      'PreconditionFailedError',
      new PreconditionFailedError('If-Match failed', 'control/x.json'),
      PreconditionFailedError,
      { key: 'control/x.json' },
    ],
    ['RetryableError', new RetryableError('slow down'), RetryableError, {}],
    [
      'RawObjectError',
      new RawObjectError('corrupt_gzip', 'unexpected end of file'),
      RawObjectError,
      { reason: 'corrupt_gzip' },
    ],
    ['TypeError', new TypeError('x is not a function'), TypeError, {}],
    ['Error', fsError, Error, { code: 'EACCES', errno: -13, syscall: 'open' }],
  ] as const)('keeps the class, name, message and fields of a %s', (name, error, cls, fields) => {
    const back = crossed(error);
    expect(back).toBeInstanceOf(cls);
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe(name);
    expect(back.message).toBe(error.message);
    expect(back).toMatchObject(fields);
    expect(back.stack).toContain(error.message);
  });

  it('keeps the name of an error class the caller does not know, as a plain Error', () => {
    class LeaseStolenError extends Error {
      constructor(message: string) {
        super(message);
        this.name = 'LeaseStolenError';
      }
    }
    const back = crossed(new LeaseStolenError('stolen'));
    expect(back.constructor).toBe(Error);
    expect([back.name, back.message]).toEqual(['LeaseStolenError', 'stolen']);
  });

  it('turns a thrown non-error into an Error with its text', () => {
    const back = crossed('disk on fire');
    expect(back).toBeInstanceOf(Error);
    expect(back.message).toBe('disk on fire');
  });
});
