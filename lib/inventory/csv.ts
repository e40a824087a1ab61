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
  const parseLines = (text: string, final: boolean): string[][] => {
    const lines = text.split('\n');
    carry = final ? '' : (lines.pop() ?? '');
    const records: string[][] = [];
    for (const line of lines) {
      if (line.length === 0) continue;
      row += 1;
      records.push(parseLine(line.charCodeAt(line.length - 1) === 0x0d ? line.slice(0, -1) : line, row));
    }
    return records;
  };
  for await (const chunk of decompressed) {
    const records = parseLines(carry + decoder.write(chunk), false);
    if (records.length > 0) yield records;
  }
  const records = parseLines(carry + decoder.end(), true);
  if (records.length > 0) yield records;
}

/** The fields of one line: bare up to the next comma, or quoted with `""` for a quote. */
function parseLine(line: string, row: number): string[] {
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (line.charCodeAt(at) !== QUOTE) {
      const comma = line.indexOf(',', at);
      const field = comma === -1 ? line.slice(at) : line.slice(at, comma);
      if (field.includes('"')) throw new CsvSyntaxError(row, `a quote inside the unquoted field ${fields.length + 1}`);
      fields.push(field);
      if (comma === -1) return fields;
      at = comma + 1;
      continue;
    }
    let value = '';
    let start = at + 1;
    for (;;) {
      const quote = line.indexOf('"', start);
      if (quote === -1) throw new CsvSyntaxError(row, `field ${fields.length + 1} opens a quote that the line never closes`);
      if (line.charCodeAt(quote + 1) === QUOTE) {
        value += line.slice(start, quote + 1);
        start = quote + 2;
        continue;
      }
      value += line.slice(start, quote);
      at = quote + 1;
      break;
    }
    fields.push(value);
    if (at === line.length) return fields;
    if (line.charCodeAt(at) !== COMMA) throw new CsvSyntaxError(row, `field ${fields.length} has "${line[at]}" after its closing quote`);
    at += 1;
  }
}
