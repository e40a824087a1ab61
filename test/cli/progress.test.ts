import { describe, expect, it } from 'vitest';
import { progressLine } from '../../lib/cli/progress.ts';
import { RunStats } from '../../lib/core/run-stats.ts';

describe('progressLine', () => {
  it('shows counts and rate, and a bar once the total is known', () => {
    const stats = new RunStats();
    stats.published = 12_345;
    stats.skip('notLatest');
    expect(progressLine(stats, stats.startedAt + 2_000)).toBe('12,345 published | 1 skipped | 0 failed | 6,173 msg/s');
    stats.bytesTotal = 1_000;
    stats.bytesRead = 500;
    expect(progressLine(stats, stats.startedAt + 2_000)).toBe(
      `${'█'.repeat(12)}${'░'.repeat(12)} 50% | 12,345 published | 1 skipped | 0 failed | 6,173 msg/s`,
    );
  });
});
