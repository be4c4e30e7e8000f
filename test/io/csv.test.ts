import { castField, csvLine, CsvFormatError, CsvParser } from '../../lib/contract/csv';

function parseAll(chunks: string[], delimiter?: string): string[][] {
  const p = new CsvParser(delimiter);
  const out: string[][] = [];
  for (const c of chunks) out.push(...p.push(c));
  out.push(...p.end());
  return out;
}

const TRICKY = '\ufeffa,b,c\r\n1,"x, ""y""",\r\n"multi\nline",,"end"\n\nplain,"",z\n"q"\r\nlast,row,no-newline';
const EXPECTED = [
  ['a', 'b', 'c'],
  ['1', 'x, "y"', ''],
  ['multi\nline', '', 'end'],
  ['plain', '', 'z'],
  ['q'],
  ['last', 'row', 'no-newline'],
];

test('parses quotes, doubled quotes, CRLF, empty fields, blank lines, a BOM and a last line without a break', () => {
  expect(parseAll([TRICKY])).toEqual(EXPECTED);
});

test('gives the same records however the text is split into chunks', () => {
  for (let i = 0; i <= TRICKY.length; i++) {
    for (let j = i; j <= TRICKY.length; j += 7) {
      const got = parseAll([TRICKY.slice(0, i), TRICKY.slice(i, j), TRICKY.slice(j)]);
      if (JSON.stringify(got) !== JSON.stringify(EXPECTED)) throw new Error(`split at ${i}/${j} gave ${JSON.stringify(got)}`);
    }
  }
  expect(parseAll(TRICKY.split(''))).toEqual(EXPECTED);
});

test('other delimiters, and a trailing delimiter means a last empty field', () => {
  expect(parseAll(['a\tb\t\n1\t"2\t3"\t'], '\t')).toEqual([
    ['a', 'b', ''],
    ['1', '2\t3', ''],
  ]);
  expect(() => new CsvParser('"')).toThrow('single character other than a quote');
});

test('an unclosed quote or text after a closing quote is a CsvFormatError with the line', () => {
  expect(() => parseAll(['a\n"open'])).toThrow(CsvFormatError);
  expect(() => parseAll(['a\n"open'])).toThrow('unclosed quote in the record starting on line 2');
  expect(() => parseAll(['"a"b\n'])).toThrow('unexpected character after a quoted field on line 1');
});

test('csvLine quotes only what needs it, and round-trips through the parser', () => {
  const values = ['plain', 'a,b', 'say "hi"', 'two\nlines', '', null, 3.5, true, new Date('2022-01-01T00:00:00Z')];
  const line = csvLine(values);
  expect(line).toBe('plain,"a,b","say ""hi""","two\nlines",,,3.5,true,2022-01-01T00:00:00.000Z\n');
  expect(parseAll([line])).toEqual([['plain', 'a,b', 'say "hi"', 'two\nlines', '', '', '3.5', 'true', '2022-01-01T00:00:00.000Z']]);
});

test('castField converts by type and rejects text of another type', () => {
  expect(castField('1e3', 'number', 'n')).toBe(1000);
  expect(castField('', 'number', 'n')).toBeNull();
  expect(castField('', 'string', 's')).toBe('');
  expect(castField('-42', 'integer', 'i')).toBe(-42);
  expect(castField('FALSE', 'boolean', 'b')).toBe(false);
  expect(castField('2022-03-01', 'date', 'd')).toEqual(new Date('2022-03-01T00:00:00Z'));
  expect(() => castField('4.5', 'integer', 'i')).toThrow("column 'i': '4.5' is not an integer");
  expect(() => castField('yes', 'boolean', 'b')).toThrow("column 'b': 'yes' is not a boolean");
  expect(() => castField('soon', 'date', 'd')).toThrow("column 'd': 'soon' is not a date");
});
