import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RetryableError } from '../../src/core/errors.ts';
import {
  AccessDeniedError,
  classifyFailure,
  environmentErrorOf,
  type FailureKind,
  ThrottledError,
} from '../../src/core/workflow/failure.ts';
import { awsError, enospcError } from '../helpers/faults.ts';

/** An fs error as node raises it: `name` is plain `Error`, the reason is in `code`. */
function errnoError(code: string, syscall = 'open'): NodeJS.ErrnoException {
  const e = new Error(`${code}: permission denied, ${syscall} '/lake/raw/x.gz'`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  return e;
}

const CASES: [string, unknown, FailureKind, string][] = [
  [
    'S3 403 AccessDenied for kms:Decrypt',
    awsError('AccessDenied', 403, 'not authorized to perform kms:Decrypt'),
    'access',
    'AccessDenied',
  ],
  ['S3 relaying a disabled KMS key', awsError('KMS.DisabledException', 400), 'access', 'KMS.DisabledException'],
  [
    'S3 relaying a key pending deletion',
    awsError('KMS.KMSInvalidStateException', 400),
    'access',
    'KMS.KMSInvalidStateException',
  ],
  ['any other KMS.* error', awsError('KMS.NotFoundException', 400), 'access', 'KMS.NotFoundException'],
  ['KMS AccessDeniedException', awsError('AccessDeniedException', 400), 'access', 'AccessDeniedException'],
  ['KMS DisabledException', awsError('DisabledException', 400), 'access', 'DisabledException'],
  ['expired session credentials', awsError('ExpiredToken', 400), 'access', 'ExpiredToken'],
  ['an unknown access key', awsError('InvalidAccessKeyId', 403), 'access', 'InvalidAccessKeyId'],
  ['a 403 under an unlisted name', awsError('UnknownError', 403), 'access', 'UnknownError 403'],
  [
    'no credentials at all',
    Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }),
    'access',
    'CredentialsProviderError',
  ],
  ['the folder store: EACCES', errnoError('EACCES'), 'access', 'EACCES'],
  ['the folder store: EPERM', errnoError('EPERM', 'unlink'), 'access', 'EPERM'],
  ['S3 503 SlowDown', awsError('SlowDown', 503, 'Please reduce your request rate.'), 'throttling', 'SlowDown'],
  ['KMS ThrottlingException', awsError('ThrottlingException', 400), 'throttling', 'ThrottlingException'],
  ['S3 relaying KMS throttling', awsError('KMS.ThrottlingException', 400), 'throttling', 'KMS.ThrottlingException'],
  ['RequestLimitExceeded', awsError('RequestLimitExceeded', 503), 'throttling', 'RequestLimitExceeded'],
  [
    'Athena TooManyRequestsException',
    awsError('TooManyRequestsException', 400),
    'throttling',
    'TooManyRequestsException',
  ],
  ['a bare 429', awsError('UnknownError', 429), 'throttling', 'UnknownError 429'],
  [
    'an ASL error name: Lambda throttled',
    { name: 'Lambda.TooManyRequestsException' },
    'throttling',
    'Lambda.TooManyRequestsException',
  ],
  [
    'a RetryableError that gave up on SlowDown',
    new RetryableError('PutObject k: still failing after 6 attempts', { cause: awsError('SlowDown', 503) }),
    'throttling',
    'SlowDown',
  ],
  ['our own AccessDeniedError, by name only', { name: 'AccessDeniedError' }, 'access', 'AccessDeniedError'],
  ['our own ThrottledError, by name only', { name: 'ThrottledError' }, 'throttling', 'ThrottledError'],
  ['S3 500 InternalError', awsError('InternalError', 500), 'object', 'InternalError'],
  ['a 403 for an archived object', awsError('InvalidObjectState', 403), 'object', 'InvalidObjectState'],
  ['S3 503 ServiceUnavailable', awsError('ServiceUnavailable', 503), 'throttling', 'ServiceUnavailable'],
  ['a bare 503', awsError('UnknownError', 503), 'throttling', 'UnknownError 503'],
  ['a bare 502', awsError('UnknownError', 502), 'object', 'UnknownError'],
  [
    'a body that broke mid-stream on every read',
    new RetryableError('GetObject k: body broke 4 times', { cause: errnoError('ECONNRESET', 'read') }),
    'object',
    'RetryableError',
  ],
  ['a Lambda timeout', { name: 'States.Timeout' }, 'object', 'States.Timeout'],
  ['an out-of-memory kill', { name: 'Lambda.Unknown' }, 'object', 'Lambda.Unknown'],
  ['a full /tmp', enospcError(), 'object', 'ENOSPC'],
  [
    'an object that is not gzip',
    Object.assign(new Error('incorrect header check'), { name: 'RawObjectError' }),
    'object',
    'RawObjectError',
  ],
  ['a thrown string', 'boom', 'object', 'unknown'],
  ['a cause cycle', cyclic(), 'object', 'RetryableError'],
];

function cyclic(): Error {
  const e = new RetryableError('loops') as Error & { cause?: unknown };
  e.cause = e;
  return e;
}

describe('classifyFailure', () => {
  it.each(CASES)('classifies %s', (_, error, kind, code) => {
    expect(classifyFailure(error)).toEqual({ kind, code });
  });
});

describe('environmentErrorOf', () => {
  it('turns access failures into AccessDeniedError naming the original code and message', () => {
    const original = awsError('AccessDenied', 403, 'not authorized to perform kms:Decrypt');
    const e = environmentErrorOf(original);
    expect(e).toBeInstanceOf(AccessDeniedError);
    expect(e).toMatchObject({
      name: 'AccessDeniedError',
      message: 'AccessDenied: not authorized to perform kms:Decrypt',
    });
    expect(e?.cause).toBe(original);
  });

  it('turns throttling into ThrottledError and leaves object failures alone', () => {
    expect(environmentErrorOf(awsError('SlowDown', 503, 'Please reduce your request rate.'))).toMatchObject({
      name: 'ThrottledError',
      message: 'SlowDown: Please reduce your request rate.',
    });
    expect(environmentErrorOf(awsError('InternalError', 500))).toBeUndefined();
    const already = new ThrottledError('SlowDown: again');
    expect(environmentErrorOf(already)).toBe(already);
  });

  // Step Functions keeps only the error's name, so the name alone must classify the same way.
  it('keeps the kind when only the converted error name crosses the state machine', () => {
    const names = [
      'AccessDenied',
      'KMS.DisabledException',
      'ExpiredToken',
      'SlowDown',
      'ThrottlingException',
      'InternalError',
      'NoSuchKey',
      'RawObjectError',
      'Weird.Name',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.constantFrom(200, 400, 401, 403, 404, 429, 500, 503),
        fc.boolean(),
        (name, status, wrapped) => {
          const raw = awsError(name, status);
          const error = wrapped ? new RetryableError('gave up', { cause: raw }) : raw;
          const kind = classifyFailure(error).kind;
          const converted = environmentErrorOf(error);
          expect(converted === undefined).toBe(kind === 'object');
          if (converted) expect(classifyFailure({ name: converted.name }).kind).toBe(kind);
        },
      ),
    );
  });
});
