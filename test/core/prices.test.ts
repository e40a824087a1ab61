import { describe, expect, it } from 'vitest';
import { estimateCost, PRICES } from '../../lib/core/prices.ts';

describe('estimateCost', () => {
  it('prices a million messages as docs/performance.md does: 100,000 calls, a worker-minute', () => {
    const usage = { sqsRequests: 100_000, s3Gets: 20, s3Lists: 0, lambdaSeconds: 24 };
    expect(estimateCost({ ...usage, fifo: false })).toMatchObject({ sqs: 0.04, pricesAsOf: PRICES.asOf });
    expect(estimateCost({ ...usage, fifo: true }).sqs).toBe(0.05);
    expect(estimateCost({ ...usage, fifo: false }).lambda).toBeCloseTo(0.000553, 6);
    // A backfill lists 1,000 keys a call: a million keys, 1,000 LIST calls.
    expect(estimateCost({ sqsRequests: 0, fifo: false, s3Gets: 0, s3Lists: 1_000, lambdaSeconds: 0 }).s3).toBe(0.005);
  });
});
