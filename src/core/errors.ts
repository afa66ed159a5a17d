/** Base of every error the pipeline raises on purpose; `name` is what ASL `ErrorEquals` matches. */
export class PipelineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PipelineError';
  }
}

/** Input that is not what the contract says (bad payload, bad config, bad request). */
export class InvalidInputError extends PipelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidInputError';
  }
}

/** A subscription payload that cannot be decoded (base64, gzip, JSON or envelope). */
export class DecodeError extends PipelineError {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DecodeError';
  }
}

/** Configuration missing or malformed at cold start. */
export class ConfigError extends PipelineError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Another run holds the lease for the same work. */
export class LeaseHeldError extends PipelineError {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseHeldError';
  }
}

/** The caller's lease was lost (expired and taken over); it must not publish. */
export class LeaseLostError extends PipelineError {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

/** A conditional write lost to a different version of the same object or partition. */
export class CommitConflictError extends PipelineError {
  constructor(message: string) {
    super(message);
    this.name = 'CommitConflictError';
  }
}

/** A raw object that is not gzip, is corrupt, or decompresses beyond the limit. */
export class RawObjectError extends PipelineError {
  constructor(
    readonly reason: 'not_gzip' | 'corrupt_gzip' | 'too_large',
    message: string,
  ) {
    super(message);
    this.name = 'RawObjectError';
  }
}

/** A transient failure worth retrying (throttling, 5xx). */
export class RetryableError extends PipelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

/** A conditional write (If-None-Match / If-Match) found the object in another state (HTTP 412). */
export class PreconditionFailedError extends PipelineError {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
    this.name = 'PreconditionFailedError';
  }
}

/** A query engine rejected or failed a statement for a reason a retry will not fix. */
export class QueryFailedError extends PipelineError {
  constructor(
    message: string,
    readonly queryId?: string,
  ) {
    super(message);
    this.name = 'QueryFailedError';
  }
}

/** Athena cancelled a query at the workgroup's bytes-scanned cutoff; never retried as is. */
export class ScanLimitExceededError extends PipelineError {
  constructor(
    message: string,
    readonly queryId?: string,
  ) {
    super(message);
    this.name = 'ScanLimitExceededError';
  }
}
