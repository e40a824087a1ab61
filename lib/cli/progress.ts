import { SingleBar } from 'cli-progress';
import type { RunStats } from '../core/run-stats.ts';

const BAR_WIDTH = 24;

/**
 * A one-line live view of a run on a terminal: counts and rate, and a bar once the total is known
 * (the compressed bytes of an inventory report, after its manifest is read). Returns the function
 * that removes it.
 */
export function showProgress(stats: RunStats, stream: NodeJS.WriteStream = process.stderr): () => void {
  if (!stream.isTTY) return () => {};
  const bar = new SingleBar({
    stream,
    hideCursor: true,
    clearOnComplete: true,
    format: () => progressLine(stats),
  });
  bar.start(1, 0);
  const timer = setInterval(() => bar.update(0), 200);
  return () => {
    clearInterval(timer);
    bar.stop();
  };
}

export function progressLine(stats: RunStats, now = Date.now()): string {
  const seconds = Math.max((now - stats.startedAt) / 1000, 0.001);
  const count = (value: number) => value.toLocaleString('en-US');
  const counts = [
    `${count(stats.published)} published`,
    `${count(stats.skippedTotal)} skipped`,
    `${count(stats.failed)} failed`,
    `${count(Math.round(stats.published / seconds))} msg/s`,
  ].join(' | ');
  if (stats.bytesTotal <= 0) return counts;
  const done = Math.min(stats.bytesRead / stats.bytesTotal, 1);
  const filled = Math.round(done * BAR_WIDTH);
  return `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)} ${Math.floor(done * 100)}% | ${counts}`;
}
