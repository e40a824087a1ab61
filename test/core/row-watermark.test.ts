import { describe, expect, it } from 'vitest';
import { RowWatermark } from '../../lib/core/row-watermark.ts';

describe('RowWatermark', () => {
  it('counts only the rows before the first unsettled message as done', () => {
    const watermark = new RowWatermark();
    watermark.sent(1);
    watermark.sent(2);
    watermark.sent(4); // row 3 was skipped by the reader
    expect(watermark.rowsDone).toBe(0);
    watermark.settled(2);
    expect(watermark.rowsDone).toBe(0);
    watermark.settled(1);
    expect(watermark.rowsDone).toBe(3);
    watermark.settled(4);
    expect(watermark.rowsDone).toBe(4);
    watermark.consumedThrough(9);
    expect(watermark.rowsDone).toBe(9);
  });

  it('starts from the rows done before', () => {
    const watermark = new RowWatermark(500);
    expect(watermark.rowsDone).toBe(500);
    watermark.sent(503);
    expect(watermark.rowsDone).toBe(502);
  });

  it('never passes an unsettled row, whatever order messages settle in', () => {
    const watermark = new RowWatermark();
    const rows = Array.from({ length: 10_000 }, (_, index) => index * 2 + 1);
    for (const row of rows) watermark.sent(row);
    const order = [...rows].sort(() => Math.random() - 0.5);
    const settled = new Set<number>();
    let firstUnsettled = 0;
    for (const row of order) {
      watermark.settled(row);
      settled.add(row);
      while (firstUnsettled < rows.length && settled.has(rows[firstUnsettled] as number)) firstUnsettled += 1;
      const expected = firstUnsettled < rows.length ? (rows[firstUnsettled] as number) - 1 : (rows.at(-1) as number);
      expect(watermark.rowsDone).toBe(expected);
    }
  });
});

describe('RowWatermark with failures', () => {
  it('stops before the first row whose message failed', () => {
    const watermark = new RowWatermark();
    for (const row of [1, 2, 3, 4]) watermark.sent(row);
    watermark.settled(1);
    watermark.failed(3);
    watermark.settled(2);
    watermark.settled(4);
    watermark.consumedThrough(10);
    expect(watermark.rowsDone).toBe(2);
  });
});
