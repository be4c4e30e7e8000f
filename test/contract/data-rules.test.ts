import { checkRules, rulesProblems, suggestRules, violationText, type OutputRules } from '../../lib/contract/data-rules';
import type { TableProfile } from '../../lib/contract/profile';

const COLUMNS = [
  { name: 'vin', type: 'string' },
  { name: 'status', type: 'string' },
  { name: 'total_usage', type: 'double' },
];

function profile(rows: number, over: Partial<TableProfile> = {}): TableProfile {
  return {
    version: 1,
    purpose: 'usage-analysis',
    output: 'summary',
    table: 'usage_analysis_summary',
    runId: `usage-analysis-run-${rows}`,
    window: { start: '2026-11-22', end: '2026-11-22' },
    engine: 'duckdb',
    rows,
    columns: [
      { name: 'vin', type: 'string', nulls: 0, distinct: rows, min: 'VIN1', max: 'VIN9', top: [] },
      {
        name: 'status',
        type: 'string',
        nulls: 0,
        distinct: 2,
        top: [
          { value: 'ok', count: rows - 1 },
          { value: 'degraded', count: 1 },
        ],
      },
      { name: 'total_usage', type: 'double', nulls: 0, distinct: rows, min: 0.5, max: 12 },
    ],
    ...over,
  };
}

describe('rulesProblems: what is wrong with rules, against the table they are about', () => {
  test('a rule on a column the table lacks names the columns and the likely one', () => {
    expect(rulesProblems({ columns: { vim: { notNull: true } } }, COLUMNS)).toEqual([
      { path: ['columns', 'vim'], message: "the table has no column 'vim' (did you mean 'vin'?); its columns: vin, status, total_usage" },
    ]);
  });

  test('an impossible range, a negative or fractional row count, and a non-positive drift', () => {
    const problems = rulesProblems(
      { rows: { min: 10, max: 5 }, columns: { total_usage: { min: 3, max: 1 } }, drift: { rows: 0 } },
      COLUMNS,
    ).map((p) => `${p.path.join('.')}: ${p.message}`);
    expect(problems).toEqual([
      'rows: rows: min 10 is above max 5, so no run could pass; swap them or widen the range',
      'drift.rows: drift.rows is the largest relative change allowed from the previous run (0.5 = 50%), above 0; got 0',
      'columns.total_usage: columns.total_usage: min 3 is above max 1, so no run could pass; swap them or widen the range',
    ]);
    expect(rulesProblems({ rows: { min: -1 } }, COLUMNS)[0].message).toBe('rows.min is a row count, a whole number of 0 or more; got -1');
  });

  test('min and max on a string column, and an empty list of allowed values', () => {
    expect(rulesProblems({ columns: { vin: { min: 0 }, status: { values: [] } } }, COLUMNS).map((p) => p.message)).toEqual([
      "min and max are for numeric columns; 'vin' is string (list its allowed values with values: [...] instead)",
      'values lists the allowed values; an empty list allows none',
    ]);
  });

  test('good rules have no problem', () => {
    const rules: OutputRules = {
      rows: { min: 1, max: 1e6 },
      columns: { vin: { notNull: true, unique: true }, total_usage: { min: 0 }, status: { values: ['ok', 'degraded'] } },
      drift: { rows: 0.5 },
    };
    expect(rulesProblems(rules, COLUMNS)).toEqual([]);
  });
});

describe('checkRules: each broken rule names the rule, the column and the observed value', () => {
  test('rows, notNull, unique, min, max and values', () => {
    const p = profile(3, {
      columns: [
        { name: 'vin', type: 'string', nulls: 1, distinct: 1 },
        { name: 'status', type: 'string', nulls: 0, distinct: 2 },
        { name: 'total_usage', type: 'double', nulls: 0, distinct: 3, min: -2, max: 2e6 },
      ],
      ruleCounts: { vin: { duplicates: 1 }, status: { notAllowed: 2, notAllowedExamples: ['broken'] } },
    });
    const found = checkRules(
      {
        rows: { min: 100 },
        columns: { vin: { notNull: true, unique: true }, total_usage: { min: 0, max: 1e6 }, status: { values: ['ok', 'degraded'] } },
      },
      p,
    );
    expect(found.map((v) => [v.rule, v.column, v.observed])).toEqual([
      ['rows.min', undefined, 3],
      ['columns.vin.notNull', 'vin', 1],
      ['columns.vin.unique', 'vin', 1],
      ['columns.total_usage.min', 'total_usage', -2],
      ['columns.total_usage.max', 'total_usage', 2e6],
      ['columns.status.values', 'status', 2],
    ]);
    expect(found[0].message).toBe('output summary (table usage_analysis_summary) has 3 row(s); rule rows.min is 100');
    expect(found[1].message).toBe('output summary (table usage_analysis_summary): column vin has 1 null value(s); rule notNull');
    expect(found[5].message).toBe(
      "output summary (table usage_analysis_summary): column status has 2 value(s) outside the allowed 'ok', 'degraded' (such as 'broken'); rule values",
    );
    expect(violationText(found.slice(0, 1), 'fail')).toMatch(
      /^the run broke its data rules:\n {2}- output summary .* rows\.min is 100\n\(rules: /,
    );
  });

  test('drift compares with the previous run, and is not checked without one', () => {
    const rules: OutputRules = { drift: { rows: 0.5 } };
    expect(checkRules(rules, profile(40))).toEqual([]);
    expect(checkRules(rules, profile(140), profile(100))).toEqual([]);
    const [v] = checkRules(rules, profile(40), profile(100));
    expect(v).toMatchObject({ rule: 'drift.rows', observed: 40 });
    expect(v.message).toBe(
      'output summary (table usage_analysis_summary) has 40 row(s), 60% fewer than the 100 of run usage-analysis-run-100; rule drift.rows allows 50%',
    );
  });

  test('a column the rules name but the profile lacks is a violation, not a pass', () => {
    const p = profile(3, { columns: [] });
    expect(checkRules({ columns: { vin: { notNull: true } } }, p).map((v) => v.rule)).toEqual(['columns.vin.exists']);
  });
});

describe('suggestRules: what every recent profile passes', () => {
  test('row floor, not-null, unique, range, allowed values and drift, all passed by the profiles they came from', () => {
    const profiles = [profile(100), profile(60), profile(120)];
    const rules = suggestRules(profiles);
    expect(rules).toEqual({
      rows: { min: 30 },
      columns: {
        vin: { notNull: true, unique: true },
        status: { notNull: true, values: ['degraded', 'ok'] },
        total_usage: { notNull: true, unique: true, min: 0.5, max: 12 },
      },
      // The largest change between consecutive runs is 60 -> 100 (2/3); half again is 1.
      drift: { rows: 1 },
    });
    expect(rulesProblems(rules, COLUMNS)).toEqual([]);
    for (const [k, p] of profiles.entries()) expect(checkRules(rules, p, profiles[k + 1])).toEqual([]);
  });

  test('no profile, no rules; one profile, no drift', () => {
    expect(suggestRules([])).toEqual({});
    expect(suggestRules([profile(10)]).drift).toBeUndefined();
  });
});
