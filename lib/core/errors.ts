import type { ObjectRef } from './types.ts';

/** A command's exit code when the input it was given is wrong: an argument, an option, a setting, the report named. */
export const EXIT_BAD_INPUT = 2;
/** A command's exit code when the run itself failed: a key not published, a file that broke, a service that refused. */
export const EXIT_RUN_FAILED = 1;
export type ErrorExitCode = typeof EXIT_BAD_INPUT | typeof EXIT_RUN_FAILED;

/**
 * Base class: every error this project raises on purpose carries a stable code, and says whether
 * it is bad input or a failed run, which a command's exit code tells apart.
 */
export abstract class PipelineError extends Error {
  readonly code: string;
  abstract readonly exitCode: ErrorExitCode;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The exit code for an error that ended a command: its class's (2 bad input, 1 failed run), else 1. */
export function exitCodeOf(error: unknown): number {
  return error instanceof PipelineError ? error.exitCode : EXIT_RUN_FAILED;
}

/** An environment variable or option is missing or invalid. */
export class ConfigError extends PipelineError {
  readonly exitCode = EXIT_BAD_INPUT;
  constructor(message: string) {
    super('InvalidConfig', message);
  }
}

/** An argument such as `s3://bucket/key` could not be understood. */
export class InvalidArgumentError extends PipelineError {
  readonly exitCode = EXIT_BAD_INPUT;
  constructor(message: string) {
    super('InvalidArgument', message);
  }
}

/** manifest.json is missing, unreadable or does not describe an inventory report. */
export class ManifestError extends PipelineError {
  readonly exitCode = EXIT_BAD_INPUT;
  /** The read got no answer, or a throttle or 5xx: the same read may pass later. */
  readonly transient: boolean;
  constructor(message: string, options?: ErrorOptions & { transient?: boolean }) {
    super('InvalidManifest', message, options);
    this.transient = options?.transient ?? false;
  }
}

/**
 * A data file uses a feature of its format that the reader does not decode (a compression codec,
 * an encoding, a type, an int64 over 2^53, a writer time zone): refused by name, never misread.
 */
export class UnsupportedFormatError extends PipelineError {
  readonly exitCode = EXIT_BAD_INPUT;
  constructor(message: string, options?: ErrorOptions) {
    super('UnsupportedFormat', message, options);
  }
}

/** A data file's bytes do not match what the manifest says about them. */
export class ChecksumMismatchError extends PipelineError {
  readonly exitCode = EXIT_RUN_FAILED;
  constructor(message: string) {
    super('ChecksumMismatch', message);
  }
}

/** A data file could not be downloaded, decompressed or parsed. */
export class DataFileError extends PipelineError {
  readonly exitCode = EXIT_RUN_FAILED;
  constructor(message: string, options?: ErrorOptions) {
    super('InvalidDataFile', message, options);
  }
}

/**
 * A SendMessageBatch call that failed as a whole, from the JSON-protocol sender: named by its AWS
 * error code as the SDK's errors are, so that logs and messages read "QueueDoesNotExist: …".
 */
export class SqsRequestError extends PipelineError {
  readonly exitCode = EXIT_RUN_FAILED;
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
  readonly exitCode = EXIT_RUN_FAILED;
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
  readonly exitCode = EXIT_RUN_FAILED;
  readonly summary: Summary;

  constructor(message: string, summary: Summary, options?: ErrorOptions) {
    super('RunFailed', message, options);
    this.summary = summary;
  }
}

/** SQS refused a whole request for a reason that will not pass (missing queue, no permission). */
export class PublishAbortedError extends PipelineError {
  readonly exitCode = EXIT_RUN_FAILED;
  constructor(message: string, options?: ErrorOptions) {
    super('PublishAborted', message, options);
  }
}
