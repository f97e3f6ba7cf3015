// @vigil/storage: the ObjectStore port, its two adapters and the one error type they throw.
export {
  MAX_KEY_BYTES,
  MAX_SINGLE_COPY_BYTES,
  MAX_TAGS,
  type BucketOptions,
  type CopyOptions,
  type DeleteResult,
  type GetOptions,
  type GetResult,
  type ListOptions,
  type Metadata,
  type ObjectInfo,
  type ObjectLocation,
  type ObjectRef,
  type ObjectStore,
  type ObjectSummary,
  type PutOptions,
  type Retention,
  type RetentionMode,
  type Tags,
  type WriteResult,
} from './object-store.ts';
export { isObjectStoreError, ObjectStoreError, type ObjectStoreErrorCode, type ObjectStoreErrorDetails } from './errors.ts';
export { FsObjectStore, type FsObjectStoreOptions } from './fs-object-store.ts';
export { S3ObjectStore, type S3ObjectStoreConfig } from './s3-object-store.ts';
export { quarantineKey } from './quarantine-key.ts';
