import { StringDecoder } from 'node:string_decoder';

const QUOTE = 0x22;
const COMMA = 0x2c;

/** A line of a data file that is not valid CSV: where, and what is wrong. */
export class CsvSyntaxError extends Error {
  readonly row: number;

  constructor(row: number, problem: string) {
    super(`row ${row}: ${problem}`);
    this.name = 'CsvSyntaxError';
    this.row = row;
  }
}

/**
 * Parses the decompressed CSV of a data file into its records, a chunk's worth at a time, so that
 * the caller pays one `await` per chunk rather than per row. Specialised for what S3 Inventory
 * writes, one record per line (keys are URL-encoded, so no field holds a raw newline), while
 * reading any RFC 4180 quoting within a line: quoted or bare fields, `""` inside quotes, commas
 * inside quotes, CRLF line ends. Blank lines are skipped, as `RowCounter` skips them, so that row
 * numbers agree with a skip by counting. `firstRow` is the number of rows before the first line.
 */
export async function* csvRecordBatches(decompressed: AsyncIterable<Buffer>, firstRow = 0): AsyncGenerator<string[][]> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let row = firstRow;
  // Lines are parsed where they lie in the chunk's text: no array of lines, no string per line.
  const parseLines = (text: string, final: boolean): string[][] => {
    const records: string[][] = [];
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      const end = newline === -1 ? (final ? text.length : -1) : newline;
      if (end === -1) break;
      if (end > start) {
        row += 1;
        records.push(parseLine(text, start, text.charCodeAt(end - 1) === 0x0d ? end - 1 : end, row));
      }
      if (newline === -1) break;
      start = newline + 1;
    }
    carry = final ? '' : text.slice(start);
    return records;
  };
  for await (const chunk of decompressed) {
    const records = parseLines(carry + decoder.write(chunk), false);
    if (records.length > 0) yield records;
  }
  const records = parseLines(carry + decoder.end(), true);
  if (records.length > 0) yield records;
}

/** Where `parseLine` is in its line: one object, reused, so that a field costs no allocation of its own. */
const cursor = { at: 0 };

/** The fields of the line `text[start, end)`: bare up to the next comma, or quoted with `""` for a quote. */
function parseLine(text: string, start: number, end: number, row: number): string[] {
  const fields: string[] = [];
  cursor.at = start;
  for (;;) {
    const quoted = cursor.at < end && text.charCodeAt(cursor.at) === QUOTE;
    fields.push(quoted ? quotedField(text, end, row, fields.length + 1) : bareField(text, end, row, fields.length + 1));
    if (cursor.at === end) return fields;
    if (text.charCodeAt(cursor.at) !== COMMA)
      throw new CsvSyntaxError(row, `field ${fields.length} has "${text[cursor.at]}" after its closing quote`);
    cursor.at += 1;
  }
}

/** A field without quotes, from `cursor.at` to the next comma or the end of the line. */
function bareField(text: string, end: number, row: number, field: number): string {
  const comma = text.indexOf(',', cursor.at);
  const fieldEnd = comma === -1 || comma >= end ? end : comma;
  const value = text.slice(cursor.at, fieldEnd);
  if (value.includes('"')) throw new CsvSyntaxError(row, `a quote inside the unquoted field ${field}`);
  cursor.at = fieldEnd;
  return value;
}

/** A quoted field opening at `cursor.at`, with `""` for a quote; leaves the cursor after its closing quote. */
function quotedField(text: string, end: number, row: number, field: number): string {
  let value = '';
  let from = cursor.at + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1 || quote >= end) throw new CsvSyntaxError(row, `field ${field} opens a quote that the line never closes`);
    if (quote + 1 < end && text.charCodeAt(quote + 1) === QUOTE) {
      value += text.slice(from, quote + 1);
      from = quote + 2;
      continue;
    }
    cursor.at = quote + 1;
    return value + text.slice(from, quote);
  }
}
