import { describe, expect, it } from 'vitest';
import { runChaos } from '../../lib/local/chaos.ts';
import { silentLog } from '../support/emulator.ts';

describe('the chaos check', () => {
  it('loses no key of a report under injected faults and killed worker processes', async () => {
    const result = await runChaos({
      mode: 'inventory',
      objects: 3_000,
      files: 3,
      workers: 3,
      kills: 3,
      timeBudgetMs: 800,
      seed: 7,
      log: silentLog,
    });
    expect(result).toMatchObject({ status: 'complete', lost: 0, distinctKeys: 3_000 });
    // A worker that ends before its moment comes is not killed: the count depends on the timing.
    expect(result.kills).toBeGreaterThan(0);
    expect(result.kills).toBeLessThanOrEqual(3);
    expect(result.queueDepth).toBeGreaterThanOrEqual(3_000);
    const { faults } = result;
    expect(faults.entriesFailed + faults.requestsFailed).toBeGreaterThan(0);
  }, 120_000);

  it('loses no key of a backfill run, its ranges split and listed by killed workers', async () => {
    const result = await runChaos({
      mode: 'backfill',
      keyShape: 'deep-prefix',
      objects: 4_000,
      files: 1,
      workers: 4,
      kills: 4,
      timeBudgetMs: 800,
      seed: 3,
      log: silentLog,
    });
    expect(result).toMatchObject({ mode: 'backfill', status: 'complete', lost: 0, distinctKeys: 4_000 });
    expect(result.kills).toBeGreaterThan(0);
    expect(result.ranges).toBeGreaterThan(17);
    expect(result.queueDepth).toBeGreaterThanOrEqual(4_000);
  }, 180_000);
});
