import { describe, expect, it } from 'vitest';
import { backoffDelay, isRetryableEntryFailure, isRetryableRequestError } from '../../lib/core/retry.ts';

const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };

describe('backoffDelay', () => {
  it('doubles its ceiling with every retry up to the maximum, waiting at least half of it', () => {
    expect([1, 2, 3, 4, 5].map((retry) => backoffDelay(retry, policy, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect([1, 2, 3, 4, 5].map((retry) => backoffDelay(retry, policy, () => 0))).toEqual([50, 100, 200, 400, 500]);
  });
});

describe('retry classification', () => {
  it('retries SQS-side and throttled entries, not other sender faults', () => {
    expect(isRetryableEntryFailure({ Id: '0', Code: 'InternalError', SenderFault: false })).toBe(true);
    expect(isRetryableEntryFailure({ Id: '0', Code: 'ThrottlingException', SenderFault: true })).toBe(true);
    expect(isRetryableEntryFailure({ Id: '0', Code: 'InvalidMessageContents', SenderFault: true })).toBe(false);
  });

  it('retries throttling, 5xx and network errors, not access or missing-queue errors', () => {
    const withStatus = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    expect(isRetryableRequestError(withStatus('ThrottlingException', 400))).toBe(true);
    expect(isRetryableRequestError(withStatus('InternalError', 500))).toBe(true);
    expect(isRetryableRequestError(withStatus('ServiceUnavailable', 503))).toBe(true);
    expect(isRetryableRequestError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryableRequestError(withStatus('QueueDoesNotExist', 400))).toBe(false);
    expect(isRetryableRequestError(withStatus('AccessDenied', 403))).toBe(false);
    expect(isRetryableRequestError('not an error')).toBe(false);
  });
});
