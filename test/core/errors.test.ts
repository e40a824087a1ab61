import { describe, expect, it } from 'vitest';
import * as errors from '../../lib/core/errors.ts';

const { EXIT_BAD_INPUT, EXIT_RUN_FAILED, exitCodeOf } = errors;

/** Every error class and the exit code a command ends with when it is thrown. */
const EXPECTED: Record<string, [() => errors.PipelineError, number]> = {
  ConfigError: [() => new errors.ConfigError('QUEUE_URL is required'), EXIT_BAD_INPUT],
  InvalidArgumentError: [() => new errors.InvalidArgumentError('not an S3 URI'), EXIT_BAD_INPUT],
  ManifestError: [() => new errors.ManifestError('manifest is not JSON'), EXIT_BAD_INPUT],
  UnsupportedFormatError: [() => new errors.UnsupportedFormatError('compressed with GZIP'), EXIT_BAD_INPUT],
  ChecksumMismatchError: [() => new errors.ChecksumMismatchError('MD5 differs'), EXIT_RUN_FAILED],
  DataFileError: [() => new errors.DataFileError('gunzip failed'), EXIT_RUN_FAILED],
  SqsRequestError: [() => new errors.SqsRequestError('AccessDenied', 403, false, 'no permission'), EXIT_RUN_FAILED],
  ListingError: [() => new errors.ListingError('listing failed'), EXIT_RUN_FAILED],
  RunFailedError: [() => new errors.RunFailedError('3 keys were not published', {}), EXIT_RUN_FAILED],
  PublishAbortedError: [() => new errors.PublishAbortedError('queue does not exist'), EXIT_RUN_FAILED],
};

describe('exit codes by the kind of error', () => {
  it('covers every error class the module exports', () => {
    const classes = Object.entries(errors)
      .filter(([, value]) => typeof value === 'function' && value.prototype instanceof errors.PipelineError)
      .map(([name]) => name);
    expect(classes.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [name, [make, code]] of Object.entries(EXPECTED)) {
    it(`${name}: ${code === EXIT_BAD_INPUT ? 'bad input, 2' : 'a failed run, 1'}`, () => {
      const error = make();
      expect(error.name).toBe(name === 'SqsRequestError' ? 'AccessDenied' : name);
      expect(error.exitCode).toBe(code);
      expect(exitCodeOf(error)).toBe(code);
    });
  }

  it('an error of no class of ours is a failed run', () => {
    expect(exitCodeOf(new TypeError('bug'))).toBe(EXIT_RUN_FAILED);
    expect(exitCodeOf('thrown string')).toBe(EXIT_RUN_FAILED);
  });
});
