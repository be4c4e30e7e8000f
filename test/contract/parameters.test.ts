import {
  parameterSpecProblems,
  parameterValue,
  parameterVariable,
  parseParamOptions,
  resolveParameters,
  type ParameterSpec,
} from '../../lib/contract/parameters';

const SPECS: Record<string, ParameterSpec> = {
  threshold: { type: 'number', default: 0.5, min: 0, max: 1 },
  top_n: { type: 'integer', default: 10, min: 1, max: 1000 },
  mode: { type: 'string', default: 'fast', allowed: ['fast', 'full'] },
  dry_run: { type: 'boolean', default: false },
  since: { type: 'date', default: '2026-01-01', min: '2025-01-01' },
};

describe('typed run parameters', () => {
  test('the defaults, as text, when a run gives none', () => {
    expect(resolveParameters('usage-analysis', SPECS)).toEqual({
      threshold: '0.5',
      top_n: '10',
      mode: 'fast',
      dry_run: 'false',
      since: '2026-01-01',
    });
  });

  test('given values are checked by type and normalized; the rest keep their defaults', () => {
    expect(resolveParameters('usage-analysis', SPECS, { threshold: '0.70', top_n: '007', dry_run: 'true', since: '2026-11-01' })).toEqual({
      threshold: '0.7',
      top_n: '7',
      mode: 'fast',
      dry_run: 'true',
      since: '2026-11-01',
    });
  });

  test('every wrong value is named at once, with its type and what to give', () => {
    expect(() =>
      resolveParameters('usage-analysis', SPECS, { threshold: 'high', top_n: '2.5', mode: 'slow', dry_run: 'yes', since: '2026-02-30' }),
    ).toThrow(
      [
        "parameter 'threshold' is number: 'high' is not a number; give e.g. 0.7",
        "parameter 'top_n' is integer: '2.5' is not a whole number; give e.g. 42",
        "parameter 'mode' is string: 'slow' is not allowed; allowed: 'fast', 'full'",
        "parameter 'dry_run' is boolean: 'yes' is not a boolean; give 'true' or 'false'",
        'parameter \'since\' must be a calendar date written YYYY-MM-DD, got "2026-02-30"',
      ].join('; '),
    );
  });

  test('out of range: below min and above max, numbers compared as numbers and dates as dates', () => {
    expect(() => resolveParameters('p', SPECS, { threshold: '1.5' })).toThrow("parameter 'threshold' is number: '1.5' is above its max 1");
    expect(() => resolveParameters('p', SPECS, { top_n: '0' })).toThrow("'0' is below its min 1");
    expect(() => resolveParameters('p', SPECS, { top_n: '999' })).not.toThrow();
    expect(() => resolveParameters('p', SPECS, { since: '2024-12-31' })).toThrow("'2024-12-31' is below its min '2025-01-01'");
  });

  test('an unknown name gets a did-you-mean; a purpose without parameters takes none', () => {
    expect(() => resolveParameters('usage-analysis', SPECS, { treshold: '0.7' })).toThrow(
      "'treshold' is not a parameter of 'usage-analysis' (did you mean 'threshold'?); its parameters: threshold, top_n, mode, dry_run, since",
    );
    expect(() => resolveParameters('fleet-report', {}, { threshold: '0.7' })).toThrow(
      "purpose 'fleet-report' declares no parameters, so --param threshold cannot be given",
    );
  });

  test('declarations: names, types, ranges, allowed values and defaults are checked, each at its field', () => {
    const problems = parameterSpecProblems({
      Threshold: { type: 'number', default: 1 },
      flag: { type: 'boolean', default: true, min: 0 },
      label: { type: 'string', default: 'x', min: 'a' },
      level: { type: 'integer', default: 5, max: 'ten' },
      colour: { type: 'string', default: 'red', allowed: [] },
      since: { type: 'date', default: 'yesterday' },
      missing: { type: 'number' } as unknown as ParameterSpec,
      odd: { type: 'float' as never, default: 1 },
      cap: { type: 'number', default: 5, max: 1 },
    });
    expect(problems.map((p) => `${p.path.join('.')}: ${p.message}`)).toEqual([
      expect.stringMatching(/^Threshold: parameter name 'Threshold' is invalid: use a lower-case letter.*BATCAT_PARAM_THRESHOLD/),
      'flag.min: min applies to number, integer and date parameters, not to boolean',
      'label.min: min applies to number, integer and date parameters, not to string',
      "level.max: max: parameter 'level' is integer: 'ten' is not a whole number; give e.g. 42",
      'colour.allowed: allowed lists no value; list at least one, or leave it out',
      'since.default: default: parameter \'since\' must be a calendar date written YYYY-MM-DD, got "yesterday"',
      "missing.default: parameter 'missing' needs a default: schedule, S3 and upstream runs use it, and a manual run may change it with --param missing=...",
      "odd.type: 'float' is not a parameter type; allowed: string, number, integer, boolean, date",
      "cap.default: default: parameter 'cap' is number: 5 is above its max 1",
    ]);
    expect(parameterSpecProblems(SPECS)).toEqual([]);
  });

  test('the environment variable is the upper-case name', () => {
    expect(parameterVariable('top_n')).toBe('BATCAT_PARAM_TOP_N');
  });

  test('--param options: name=value, the value may hold =; no name or a repeat is refused', () => {
    expect(parseParamOptions(['threshold=0.7', 'filter=a=b'])).toEqual({ threshold: '0.7', filter: 'a=b' });
    expect(() => parseParamOptions(['0.7'])).toThrow("--param '0.7' is not name=value; write e.g. --param threshold=0.7");
    expect(() => parseParamOptions(['a=1', 'a=2'])).toThrow('--param a is given twice');
  });

  test('a value of the wrong kind (an object) is refused', () => {
    expect(parameterValue('mode', SPECS.mode, { x: 1 }).problem).toBe(
      'parameter \'mode\' is string: {"x":1} is not a value; give some text',
    );
  });
});
