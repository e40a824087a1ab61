import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../lib/publish/rate-limiter.ts';

describe('RateLimiter', () => {
  it('never lets more through in a span than its rate over the span and a tenth of a second, whatever the callers', async () => {
    const limiter = new RateLimiter(400);
    const started = performance.now();
    let taken = 0;
    const caller = async () => {
      while (performance.now() - started < 1_000) {
        await limiter.take(10);
        taken += 10;
      }
    };
    await Promise.all([caller(), caller(), caller()]);
    const seconds = (performance.now() - started) / 1000;
    // A slow machine only lets fewer through: the bound holds however busy it is.
    expect(taken).toBeLessThanOrEqual(400 * seconds + 40 + 10);
  });

  it('follows a new rate at once, the tokens it holds capped to the new bucket', async () => {
    const limiter = new RateLimiter(10_000);
    limiter.rate = 100;
    expect(limiter.rate).toBe(100);
    const started = performance.now();
    for (let index = 0; index < 4; index += 1) await limiter.take(10);
    // 10 held at most, then 30 more at 100 a second: at least 0.3 s.
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
  });
});
