/** AWS adapters. */

export { fullJitterDelay, type RetryOptions, retryWithBackoff } from './retry.ts';
export { S3ObjectStore, type S3ObjectStoreProps } from './s3-object-store.ts';
