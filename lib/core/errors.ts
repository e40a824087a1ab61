import type { ObjectRef } from './types.ts';

/** Base class: every error this project raises on purpose carries a stable code. */
export class PipelineError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An environment variable or option is missing or invalid. */
export class ConfigError extends PipelineError {
  constructor(message: string) {
    super('InvalidConfig', message);
  }
}

/** An argument such as `s3://bucket/key` could not be understood. */
export class InvalidArgumentError extends PipelineError {
  constructor(message: string) {
    super('InvalidArgument', message);
  }
}

/** manifest.json is missing, unreadable or does not describe an inventory report. */
export class ManifestError extends PipelineError {
  constructor(message: string, options?: ErrorOptions) {
    super('InvalidManifest', message, options);
  }
}

/** The report is ORC or Parquet: only CSV reports are read. */
export class UnsupportedFormatError extends PipelineError {
  constructor(message: string) {
    super('UnsupportedFormat', message);
  }
}

/** A data file's bytes do not match what the manifest says about them. */
export class ChecksumMismatchError extends PipelineError {
  constructor(message: string) {
    super('ChecksumMismatch', message);
  }
}

/** A data file could not be downloaded, decompressed or parsed. */
export class DataFileError extends PipelineError {
  constructor(message: string, options?: ErrorOptions) {
    super('InvalidDataFile', message, options);
  }
}

/**
 * A SendMessageBatch call that failed as a whole, from the JSON-protocol sender: named by its AWS
 * error code as the SDK's errors are, so that logs and messages read "QueueDoesNotExist: …".
 */
export class SqsRequestError extends PipelineError {
  /** HTTP status of the answer; undefined when none came (network error, deadline). */
  readonly status: number | undefined;
  /** Throttling, a 5xx, no answer, expired credentials: the same call may succeed later. */
  readonly retryable: boolean;

  constructor(awsCode: string, status: number | undefined, retryable: boolean, message: string, options?: ErrorOptions) {
    super(awsCode, message, options);
    this.name = awsCode;
    this.status = status;
    this.retryable = retryable;
  }
}

/** A bucket listing failed (missing bucket, no permission, ...). */
export class ListingError extends PipelineError {
  constructor(message: string, options?: ErrorOptions) {
    super('ListingFailed', message, options);
  }
}

/** A key that could not be published, with the last reason SQS gave. */
export interface FailedKey extends ObjectRef {
  reason: string;
}

/**
 * A run did not publish every key: some failed, or the source broke off. `summary` says what was
 * done before it stopped.
 */
export class RunFailedError<Summary = unknown> extends PipelineError {
  readonly summary: Summary;

  constructor(message: string, summary: Summary, options?: ErrorOptions) {
    super('RunFailed', message, options);
    this.summary = summary;
  }
}

/** SQS refused a whole request for a reason that will not pass (missing queue, no permission). */
export class PublishAbortedError extends PipelineError {
  constructor(message: string, options?: ErrorOptions) {
    super('PublishAborted', message, options);
  }
}
