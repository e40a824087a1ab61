import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { InventoryRow } from '../report-writer.ts';

/** What one measured task did, in its own process (or several, summed). */
export interface Measurement {
  task: string;
  count: number;
  elapsedMs: number;
  cpuMs: number;
  maxRssMb: number;
  /** How much of the machine every process kept busy meanwhile (Linux): near 1, the machine is the bound. */
  machineBusy?: number;
}

export const perSecond = (m: Measurement) => Math.round(m.count / (m.elapsedMs / 1000));
export const cpuSecPerMillion = (m: Measurement) => Number(((m.cpuMs / 1000) * (1_000_000 / Math.max(m.count, 1))).toFixed(1));
export const ratio = (a: number, b: number) => Number((a / b).toFixed(2));

/** The middle one of `items` by `value` (the lower middle of an even number). */
export function median<T>(items: T[], value: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => value(a) - value(b));
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  if (middle === undefined) throw new Error('the median of nothing');
  return middle;
}

// USER_HZ, 100 on every Linux architecture Node runs on.
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time the whole machine has spent on user and system work so far (Linux), in ms. */
export function machineCpuMs(): number | undefined {
  try {
    const [, user = 0, nice = 0, system = 0] = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).map(Number) ?? [];
    return ((user + nice + system) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Rows of a synthetic report: keys named as a bucket's objects are, `<sha256>.jpg`. */
export function* syntheticRows(total: number): Generator<InventoryRow> {
  const lastModified = new Date();
  for (let index = 0; index < total; index += 1) {
    const key = `${createHash('sha256').update(String(index)).digest('hex')}.jpg`;
    yield { key, size: 1_000 + (index % 1_000), lastModified, etag: 'd41d8cd98f00b204e9800998ecf8427e' };
  }
}
