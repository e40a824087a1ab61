/** One object of a bucket: the payload of one SQS message. */
export interface ObjectRef {
  bucket: string;
  key: string;
  /** What the key source knows of the object, for `MESSAGE_FIELDS`. */
  details?: ObjectDetails;
  /**
   * The write this message stands for (a live event's version id, ETag or sequencer): on a FIFO
   * queue the deduplication id covers it, so a key written again within five minutes is sent again.
   */
  revision?: string;
}

/** Optional fields of a message, as consumers see them. */
export interface ObjectDetails {
  /** Bytes. */
  size?: number;
  /** Without quotes. */
  etag?: string;
  /** ISO 8601, UTC. */
  lastModified?: string;
  /** "null" for an object written while versioning was off. */
  versionId?: string;
  storageClass?: string;
  /**
   * Intelligent-Tiering's access tier, from a report's IntelligentTieringAccessTier column: read
   * for the storage class filters (`ARCHIVE_ACCESS`, `DEEP_ARCHIVE_ACCESS`), never a message field.
   */
  accessTier?: string;
}

export type MessageField = keyof ObjectDetails;
export const MESSAGE_FIELDS: readonly MessageField[] = ['size', 'etag', 'lastModified', 'versionId', 'storageClass'];
/** Every detail a source may read of an object: the message fields, and what only the filters use. */
export const DETAIL_FIELDS: readonly MessageField[] = [...MESSAGE_FIELDS, 'accessTier'];

/** Where an object lives, as parsed from `s3://bucket/key` or an S3 event. */
export interface S3Location {
  bucket: string;
  key: string;
}

/**
 * Why a row or listed key was not published. `otherBucket`: a report's row names a bucket other
 * than the report's source bucket, which S3 never writes: never published, and it fails the run.
 * `storageClass`, `size`, `lastModified`: the object is outside a filter's bounds.
 * `publishedLive`: `missed` mode: the live path published the object as it is now (same ETag).
 */
export type SkipReason =
  | 'deleteMarker'
  | 'notLatest'
  | 'patternMismatch'
  | 'malformedKey'
  | 'unchanged'
  | 'otherBucket'
  | 'storageClass'
  | 'size'
  | 'lastModified'
  | 'publishedLive';

export const SKIP_REASONS: readonly SkipReason[] = [
  'deleteMarker',
  'notLatest',
  'patternMismatch',
  'malformedKey',
  'unchanged',
  'otherBucket',
  'storageClass',
  'size',
  'lastModified',
  'publishedLive',
];

/**
 * The logging surface `lib/` needs. Powertools' Logger satisfies it in Lambda; the CLI passes a
 * logger that writes to stderr so stdout stays free for the summary.
 */
export interface Log {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}
