import fc from 'fast-check';
import { cronProblem } from '../../lib/contract/rules';

/*
 * cronProblem against a reference written from EventBridge Scheduler's documented grammar
 * (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based):
 *
 *   minutes 0-59, hours 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or
 *   SUN-SAT, year 1970-2199. A field is a list (,) of elements; an element is *, a value or a
 *   range a-b, each optionally with /step. Day-of-month may instead be ?, L, LW or nW;
 *   day-of-week ?, L, nL or n#k (k 1-5). Exactly one of day-of-month and day-of-week is ?.
 *
 * fast-check generates expressions near that grammar's edges, valid and not, and cronProblem
 * must accept exactly the ones the reference accepts, naming the first field that is wrong.
 */

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIELDS: readonly Field[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS },
  { name: 'year', min: 1970, max: 2199 },
];

/** The reference: is one value of `field` written correctly (a number in range, or its name)? */
function refValue(text: string, field: Field): boolean {
  if (field.names?.includes(text.toUpperCase())) return true;
  if (!/^\d+$/.test(text)) return false;
  return Number(text) >= field.min && Number(text) <= field.max;
}

/** The reference: is one field correct, as the grammar above says? */
function refField(text: string, field: Field): boolean {
  if (field.name === 'day-of-month' && /^(\?|L|LW)$/.test(text)) return true;
  if (field.name === 'day-of-month' && /^\d{1,2}W$/.test(text)) return refValue(text.slice(0, -1), field);
  if (field.name === 'day-of-week' && /^(\?|L)$/.test(text)) return true;
  if (field.name === 'day-of-week' && /^[1-7]L$/.test(text)) return true;
  if (field.name === 'day-of-week' && /^[^#]+#[1-5]$/.test(text))
    return /^([1-7]|[A-Za-z]{3})$/.test(text.split('#')[0]) && refValue(text.split('#')[0], field);
  return text.split(',').every((element) => {
    const [base, step, ...rest] = element.split('/');
    if (rest.length > 0) return false;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1 && Number(step) <= field.max)) return false;
    if (base === '*') return true;
    const ends = base.split('-');
    return ends.length <= 2 && ends.every((e) => refValue(e, field));
  });
}

/** The reference's verdict on an expression: undefined if valid, else the field at fault (or 'question mark'). */
function refProblem(expression: string): string | undefined {
  const fields = expression.split(' ');
  for (const [i, f] of FIELDS.entries()) if (!refField(fields[i], f)) return f.name;
  return (fields[2] === '?') === (fields[4] === '?') ? 'question mark' : undefined;
}

/** Values near and past a field's ends, names and misspelt names. */
function value(field: Field): fc.Arbitrary<string> {
  const numbers = fc.integer({ min: Math.max(0, field.min - 3), max: field.max + 3 }).map(String);
  if (!field.names) return numbers;
  return fc.oneof(
    numbers,
    fc.constantFrom(...field.names),
    fc.constantFrom(...field.names).map((n) => n.toLowerCase()),
    fc.constant('FOO'),
  );
}

function element(field: Field): fc.Arbitrary<string> {
  const base = fc.oneof(
    fc.constant('*'),
    value(field),
    fc.tuple(value(field), value(field)).map(([a, b]) => `${a}-${b}`),
  );
  const step = fc.option(fc.integer({ min: 0, max: field.max + 2 }), { nil: undefined });
  return fc.tuple(base, step).map(([b, s]) => (s === undefined ? b : `${b}/${s}`));
}

function field(f: Field): fc.Arbitrary<string> {
  const list = fc.array(element(f), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(','));
  if (f.name === 'day-of-month') {
    return fc.oneof(
      list,
      fc.constantFrom('?', 'L', 'LW'),
      fc.integer({ min: 0, max: 33 }).map((n) => `${n}W`),
    );
  }
  if (f.name === 'day-of-week') {
    return fc.oneof(
      list,
      fc.constantFrom('?', 'L'),
      fc.integer({ min: 0, max: 8 }).map((n) => `${n}L`),
      fc
        .tuple(fc.oneof(fc.integer({ min: 0, max: 8 }).map(String), fc.constantFrom(...DAYS)), fc.integer({ min: 0, max: 6 }))
        .map(([d, k]) => `${d}#${k}`),
    );
  }
  return list;
}

const expression = fc.tuple(...FIELDS.map(field)).map((fs) => fs.join(' '));

describe('cronProblem, property-based against the documented grammar', () => {
  test('accepts exactly the expressions the reference accepts', () => {
    fc.assert(
      fc.property(expression, (e) => {
        expect([e, cronProblem(e) === undefined]).toEqual([e, refProblem(e) === undefined]);
      }),
      { numRuns: 3000 },
    );
  });

  test('names the first field that is wrong, or the question-mark rule', () => {
    fc.assert(
      fc.property(expression, (e) => {
        const expected = refProblem(e);
        fc.pre(expected !== undefined);
        const problem = cronProblem(e)!;
        if (expected === 'question mark') expect(problem).toContain("exactly one of day-of-month and day-of-week must be '?'");
        else expect([e, problem]).toEqual([e, expect.stringContaining(`: ${expected} `)]);
      }),
      { numRuns: 3000 },
    );
  });

  test('the generator reaches both sides: valid and invalid expressions, in every field', () => {
    const samples = fc.sample(expression, { numRuns: 3000, seed: 42 });
    const verdicts = new Set(samples.map(refProblem));
    expect(verdicts).toEqual(new Set([undefined, 'question mark', ...FIELDS.map((f) => f.name)]));
  });
});
