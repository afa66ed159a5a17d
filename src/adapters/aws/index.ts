/** AWS adapters. */
export { GLUE_BATCH_WRITE_LIMIT, GlueCatalog, type GlueCatalogProps, type GlueSender } from './glue-catalog.ts';
export { fullJitterDelay, type RetryOptions, retryWithBackoff } from './retry.ts';
export { S3ObjectStore, type S3ObjectStoreProps } from './s3-object-store.ts';
