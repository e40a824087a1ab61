import { StringDecoder } from 'node:string_decoder';

const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = '\n';

/**
 * The longest row read, in characters. S3 keys are at most 1,024 bytes, URL-encoded to at most
 * 3,072 characters, and the other columns of a report add a few hundred: a longer line is not one
 * S3 wrote, and is refused before it can hold more memory.
 */
export const MAX_ROW_CHARS = 64 * 1024;

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
  const splitter = new CsvSplitter(firstRow);
  for await (const chunk of decompressed) {
    const records = splitter.records(decoder.write(chunk));
    if (records.length > 0) yield records;
  }
  const records = splitter.end(decoder.end());
  if (records.length > 0) yield records;
}

/**
 * Cuts text into lines as it arrives and parses each: a line's start that arrived in an earlier
 * piece is carried, and only the new text is searched for its end, so the work is linear in the
 * input whatever the pieces; a line longer than `MAX_ROW_CHARS` fails at once.
 */
export class CsvSplitter {
  readonly #parser = new CsvLineParser();
  #carry = '';
  #row: number;

  constructor(firstRow = 0) {
    this.#row = firstRow;
  }

  /** The records of the lines that end in `text`. */
  records(text: string): string[][] {
    const records: string[][] = [];
    let start = 0;
    let newline = text.indexOf(NEWLINE);
    if (this.#carry !== '' && newline !== -1) {
      this.#line(this.#carry + text.slice(0, newline), records);
      this.#carry = '';
      start = newline + 1;
      newline = text.indexOf(NEWLINE, start);
    }
    for (; newline !== -1; newline = text.indexOf(NEWLINE, start)) {
      this.#check(newline - start);
      if (newline > start) this.#push(text, start, newline, records);
      start = newline + 1;
    }
    const rest = start === 0 ? text : text.slice(start);
    this.#check(this.#carry.length + rest.length);
    this.#carry += rest;
    return records;
  }

  /** The records of what is left once the text has ended: a last line without a newline. */
  end(text: string): string[][] {
    const records = this.records(text);
    if (this.#carry !== '') this.#line(this.#carry, records);
    this.#carry = '';
    return records;
  }

  #line(line: string, records: string[][]): void {
    this.#check(line.length);
    if (line.length > 0) this.#push(line, 0, line.length, records);
  }

  #push(text: string, start: number, end: number, records: string[][]): void {
    this.#row += 1;
    const last = text.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
    records.push(this.#parser.parse(text, start, last, this.#row));
  }

  #check(length: number): void {
    if (length > MAX_ROW_CHARS) {
      throw new CsvSyntaxError(this.#row + 1, `is longer than ${MAX_ROW_CHARS} characters: not a row of an inventory report`);
    }
  }
}

/**
 * The fields of one line at a time: bare up to the next comma, or quoted with `""` for a quote.
 * The next comma and quote found in a text are kept while the parser moves through its lines, so
 * that a search past a line's end (its last field) is not made again for each line that follows.
 */
class CsvLineParser {
  /** Where the parser is in its line. */
  #at = 0;
  #text = '';
  readonly #comma = { from: 0, found: -1 };
  readonly #quote = { from: 0, found: -1 };

  /** The fields of the line `text[start, end)`. */
  parse(text: string, start: number, end: number, row: number): string[] {
    const fields: string[] = [];
    if (text !== this.#text) {
      this.#text = text;
      // Nothing is known of the new text: every start is before the searches' own.
      this.#comma.from = this.#quote.from = Number.POSITIVE_INFINITY;
    }
    this.#at = start;
    for (;;) {
      const quoted = this.#at < end && text.charCodeAt(this.#at) === QUOTE;
      fields.push(quoted ? this.#quoted(text, end, row, fields.length + 1) : this.#bare(text, end, row, fields.length + 1));
      if (this.#at === end) return fields;
      if (text.charCodeAt(this.#at) !== COMMA)
        throw new CsvSyntaxError(row, `field ${fields.length} has "${text[this.#at]}" after its closing quote`);
      this.#at += 1;
    }
  }

  /** A field without quotes, to the next comma or the end of the line. */
  #bare(text: string, end: number, row: number, field: number): string {
    const comma = this.#find(',', this.#at);
    const fieldEnd = comma === -1 || comma >= end ? end : comma;
    const quote = this.#find('"', this.#at);
    if (quote !== -1 && quote < fieldEnd) throw new CsvSyntaxError(row, `a quote inside the unquoted field ${field}`);
    const value = text.slice(this.#at, fieldEnd);
    this.#at = fieldEnd;
    return value;
  }

  /** A quoted field, with `""` for a quote; leaves the parser after its closing quote. */
  #quoted(text: string, end: number, row: number, field: number): string {
    let value = '';
    let from = this.#at + 1;
    for (;;) {
      const quote = this.#find('"', from);
      if (quote === -1 || quote >= end) throw new CsvSyntaxError(row, `field ${field} opens a quote that the line never closes`);
      if (quote + 1 < end && text.charCodeAt(quote + 1) === QUOTE) {
        value += text.slice(from, quote + 1);
        from = quote + 2;
        continue;
      }
      this.#at = quote + 1;
      return value + text.slice(from, quote);
    }
  }

  /** The first `char` (a comma or a quote) of the text at or after `from`, searched again only when passed. */
  #find(char: ',' | '"', from: number): number {
    const search = char === ',' ? this.#comma : this.#quote;
    // A search from `search.from` found `search.found` (-1: none to the end): it answers any later start up to it.
    if (from >= search.from && (search.found === -1 || from <= search.found)) return search.found;
    search.from = from;
    search.found = this.#text.indexOf(char, from);
    return search.found;
  }
}
