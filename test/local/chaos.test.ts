import { describe, expect, it } from 'vitest';
import { runChaos } from '../../lib/local/chaos.ts';
import { silentLog } from '../support/emulator.ts';

describe('the chaos check', () => {
  it('loses no key under injected faults and killed worker processes', async () => {
    const result = await runChaos({ objects: 3_000, files: 3, workers: 3, kills: 3, timeBudgetMs: 800, seed: 7, log: silentLog });
    expect(result).toMatchObject({ status: 'complete', lost: 0, distinctKeys: 3_000 });
    // A worker that ends before its moment comes is not killed: the count depends on the timing.
    expect(result.kills).toBeGreaterThan(0);
    expect(result.kills).toBeLessThanOrEqual(3);
    expect(result.queueDepth).toBeGreaterThanOrEqual(3_000);
    const { faults } = result;
    expect(faults.entriesFailed + faults.requestsFailed).toBeGreaterThan(0);
  }, 120_000);
});
