import { PipelineError } from '../errors.ts';

/**
 * Why a unit of work failed: `access` and `throttling` are about the environment (IAM, KMS,
 * credentials, request rates) and say nothing about the object; `object` is everything else.
 */
export type FailureKind = 'access' | 'throttling' | 'object';

/** A classified failure: its kind and the code that decided it (error name, errno or HTTP status). */
export interface FailureClass {
  readonly kind: FailureKind;
  readonly code: string;
}

/** Access denied by IAM, a bucket or key policy, an unusable KMS key, or bad credentials. */
export class AccessDeniedError extends PipelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AccessDeniedError';
  }
}

/** A service kept throttling after the SDK's and adapters' own retries. */
export class ThrottledError extends PipelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ThrottledError';
  }
}

// Matched on the name without a service prefix (`KMS.ThrottlingException`, `Lambda.TooManyRequestsException`).
const ACCESS_NAMES = new Set([
  'AccessDeniedError',
  'AccessDenied',
  'AccessDeniedException',
  'AllAccessDisabled',
  'Forbidden',
  'UnauthorizedOperation',
  'UnauthorizedException',
  'InvalidAccessKeyId',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'DisabledException',
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSAccessDeniedException',
  'KeyUnavailableException',
  'KMSNotFoundException',
]);
const THROTTLING_NAMES = new Set([
  'ThrottledError',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'SlowDown',
  'RequestLimitExceeded',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'KMSThrottlingException',
  // S3 answers 503 ServiceUnavailable as well as SlowDown when asked to reduce the request rate.
  'ServiceUnavailable',
]);
// 403s about the object itself: S3 refuses a GET of an archived (Glacier) object with 403 InvalidObjectState.
const OBJECT_NAMES = new Set(['InvalidObjectState']);
// Node's errno codes as the folder store raises them for an unreadable file or folder.
const ACCESS_ERRNO = new Set(['EACCES', 'EPERM']);
/** Causes followed (RetryableError wraps the SDK error the retries gave up on). */
const MAX_CAUSE_DEPTH = 4;

/**
 * Classifies a failure by `name`, `code`/`Code` and `$metadata.httpStatusCode` (SDK v3, node:fs; a bare
 * ASL `{ name }` too), following `cause`: 401/403, `KMS.*` and credential errors are `access`, 429, 503
 * and throttling names `throttling`, the rest (500, timeouts, bad data) `object`.
 */
export function classifyFailure(error: unknown): FailureClass {
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && current !== null && typeof current === 'object'; depth++) {
    const found = classifyOne(current as ErrorShape);
    if (found) return found;
    current = (current as ErrorShape).cause;
  }
  return { kind: 'object', code: codeOf(error as ErrorShape) ?? 'unknown' };
}

interface ErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly Code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
  readonly cause?: unknown;
}

function classifyOne(e: ErrorShape): FailureClass | undefined {
  const own = [e.name, e.code, e.Code].find((c): c is string => typeof c === 'string' && OBJECT_NAMES.has(c));
  if (own) return { kind: 'object', code: own };
  for (const code of [e.name, e.code, e.Code]) {
    if (typeof code !== 'string' || code === '' || code === 'Error') continue;
    const dot = code.lastIndexOf('.');
    const bare = dot >= 0 ? code.slice(dot + 1) : code;
    if (THROTTLING_NAMES.has(bare)) return { kind: 'throttling', code };
    if (ACCESS_NAMES.has(bare) || ACCESS_ERRNO.has(code) || code.startsWith('KMS.')) return { kind: 'access', code };
  }
  const status = e.$metadata?.httpStatusCode;
  if (status === 401 || status === 403) return { kind: 'access', code: `${codeOf(e) ?? 'HTTP'} ${status}` };
  if (status === 429 || status === 503) return { kind: 'throttling', code: `${codeOf(e) ?? 'HTTP'} ${status}` };
  return undefined;
}

function codeOf(e: ErrorShape | undefined): string | undefined {
  for (const code of [e?.name, e?.code, e?.Code]) if (typeof code === 'string' && code !== 'Error') return code;
  return undefined;
}

/**
 * The environment failure `error` stands for, as an {@link AccessDeniedError} or
 * {@link ThrottledError} whose message names the original code; undefined for an object failure.
 */
export function environmentErrorOf(error: unknown): AccessDeniedError | ThrottledError | undefined {
  const c = classifyFailure(error);
  if (c.kind === 'object') return undefined;
  if (error instanceof AccessDeniedError || error instanceof ThrottledError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const text = `${c.code}: ${message}`;
  return c.kind === 'access'
    ? new AccessDeniedError(text, { cause: error })
    : new ThrottledError(text, { cause: error });
}
