/*
 * A streaming CSV reader and writer (RFC 4180: quoted fields, doubled quotes, CRLF or LF).
 * Hand-written because the reader is the hot loop of `readCsvFromBucket`: it must keep up with
 * the network (see bench/csv-read.ts), which general-purpose parsers did not (about 10 MB/s).
 */

/** Splits text, fed in chunks of any size, into records of raw string fields. */
export class CsvParser {
  private rest = '';
  private readonly delim: number;
  private first = true;
  private line = 1;

  constructor(private readonly delimiter = ',') {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
      throw new Error(`CSV delimiter must be a single character other than a quote or a line break, got ${JSON.stringify(delimiter)}`);
    }
    this.delim = delimiter.charCodeAt(0);
  }

  /** The records completed by `text`; an unfinished last record waits for the next chunk. */
  push(text: string): string[][] {
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const records: string[][] = [];
    const s = this.rest + text;
    const consumed = this.parse(s, records, false);
    this.rest = s.slice(consumed);
    return records;
  }

  /** The last record, if the text did not end with a line break. */
  end(): string[][] {
    const records: string[][] = [];
    if (this.rest.length > 0) this.parse(this.rest, records, true);
    this.rest = '';
    return records;
  }

  /** Parses whole records from `s` into `out`; returns where the unfinished part starts. */
  private parse(s: string, out: string[][], final: boolean): number {
    const n = s.length;
    const delimiter = this.delimiter;
    let i = 0;
    let nextQuote = s.indexOf('"');
    let lines = 0;
    while (i < n) {
      if (nextQuote !== -1 && nextQuote < i) nextQuote = s.indexOf('"', i);
      let nl = s.indexOf('\n', i);
      if (nl === -1) {
        if (!final) break;
        nl = n;
      }
      if (nextQuote === -1 || nextQuote > nl) {
        // Fast path: a line without quotes is split natively.
        const end = nl > i && s.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        if (end > i) out.push(s.slice(i, end).split(delimiter));
        lines++;
        i = nl + 1;
        continue;
      }
      this.line += lines;
      lines = 0;
      const next = this.parseQuoted(s, i, out, final);
      if (next === -1) return i;
      i = next;
    }
    this.line += lines;
    return Math.min(i, n);
  }

  /** Parses one record with quotes starting at `i`; returns where the next starts, or -1 if it is unfinished. */
  private parseQuoted(s: string, i: number, out: string[][], final: boolean): number {
    const n = s.length;
    const d = this.delim;
    const delimiter = this.delimiter;
    const fields: string[] = [];
    for (;;) {
      if (s.charCodeAt(i) === 34 /* " */) {
        let value = '';
        let from = i + 1;
        for (;;) {
          const q = s.indexOf('"', from);
          if (q === -1) {
            if (!final) return -1;
            throw new CsvFormatError(`unclosed quote in the record starting on line ${this.line}`);
          }
          if (q + 1 === n && !final) return -1; // the next chunk may start with a quote
          value += s.slice(from, q);
          if (s.charCodeAt(q + 1) === 34) {
            value += '"';
            from = q + 2;
            continue;
          }
          i = q + 1;
          break;
        }
        fields.push(value);
        if (i === n) break;
        const c = s.charCodeAt(i);
        if (c === d) {
          i++;
          if (i < n) continue;
          if (!final) return -1;
          fields.push('');
          break;
        }
        if (c === 13 || c === 10) break;
        throw new CsvFormatError(`unexpected character after a quoted field on line ${this.line}`);
      }
      const nl = s.indexOf('\n', i);
      if (nl === -1 && !final) return -1;
      const le = nl === -1 ? n : nl;
      const dpos = s.indexOf(delimiter, i);
      if (dpos !== -1 && dpos < le) {
        fields.push(s.slice(i, dpos));
        i = dpos + 1;
        if (i < n) continue;
        fields.push('');
        break;
      }
      fields.push(s.slice(i, le > i && s.charCodeAt(le - 1) === 13 ? le - 1 : le));
      i = le;
      break;
    }
    // At a line break or the end of the text.
    if (i < n) {
      if (s.charCodeAt(i) === 13) {
        if (i + 1 === n && !final) return -1; // half of a CRLF
        i += s.charCodeAt(i + 1) === 10 ? 2 : 1;
      } else {
        i++;
      }
    }
    this.line++;
    out.push(fields);
    return i;
  }
}

/** The text is not valid CSV. */
export class CsvFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvFormatError';
  }
}

/** One CSV line (with a trailing LF), quoting fields that need it. */
export function csvLine(values: readonly unknown[], delimiter = ','): string {
  let line = '';
  for (let k = 0; k < values.length; k++) {
    if (k > 0) line += delimiter;
    line += csvField(values[k], delimiter);
  }
  return line + '\n';
}

function csvField(v: unknown, delimiter: string): string {
  if (v === null || v === undefined) return '';
  const s = v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : `${v as string | number | boolean}`;
  if (s.includes('"') || s.includes(delimiter) || s.includes('\n') || s.includes('\r')) return `"${s.replace(/"/g, '""')}"`;
  return s;
}

/** How a column's text becomes a value. Empty fields become `null` for every type but `string`. */
export type ColumnType = 'string' | 'number' | 'integer' | 'boolean' | 'date';
export type CsvValue = string | number | boolean | Date | null;

/** Converts one field; throws CsvFormatError naming the column on text that is not of its type. */
export function castField(text: string, type: ColumnType, column: string): CsvValue {
  if (type === 'string') return text;
  if (text === '') return null;
  switch (type) {
    case 'number': {
      const v = Number(text);
      if (Number.isNaN(v) && text.trim() !== 'NaN') throw new CsvFormatError(`column '${column}': '${text}' is not a number`);
      return v;
    }
    case 'integer': {
      const v = Number(text);
      if (!Number.isInteger(v) || text.trim() === '') throw new CsvFormatError(`column '${column}': '${text}' is not an integer`);
      return v;
    }
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (t === 'true' || t === '1') return true;
      if (t === 'false' || t === '0') return false;
      throw new CsvFormatError(`column '${column}': '${text}' is not a boolean (true/false/1/0)`);
    }
    case 'date': {
      const v = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
      if (Number.isNaN(v.getTime())) throw new CsvFormatError(`column '${column}': '${text}' is not a date`);
      return v;
    }
  }
}
