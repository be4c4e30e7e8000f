import { dateProblem } from './dates';
import { didYouMean } from './suggest';

/*
 * Typed run parameters: declared per purpose (`parameters:` in the project file), given per run
 * (`batcat run --param threshold=0.7`), defaulted for schedule, S3 and upstream runs. A run
 * carries every value as text in its input (`parameters`); the job reads them as `{param.<name>}`
 * in its arguments and as `BATCAT_PARAM_<NAME>` in its environment.
 */

export type ParameterType = 'string' | 'number' | 'integer' | 'boolean' | 'date';
export const PARAMETER_TYPES: readonly ParameterType[] = ['string', 'number', 'integer', 'boolean', 'date'];

/** One declared parameter. Values are given as the project file writes them (YAML scalars). */
export interface ParameterSpec {
  readonly type: ParameterType;
  /** The value of every run that does not give one: schedule, S3 and upstream runs always use it. */
  readonly default: string | number | boolean;
  /** number, integer and date: the smallest value allowed. */
  readonly min?: string | number;
  /** number, integer and date: the largest value allowed. */
  readonly max?: string | number;
  /** string, number and integer: the only values allowed. */
  readonly allowed?: ReadonlyArray<string | number>;
  readonly description?: string;
}

/** A parameter's name: lower case, so that `BATCAT_PARAM_<NAME>` is its upper-case form. */
export const PARAMETER_NAME = /^[a-z][a-z0-9_]{0,39}$/;
export const MAX_PARAMETERS = 20;
/** The placeholder of a parameter in `arguments`. */
export const PARAMETER_PLACEHOLDER_PREFIX = 'param.';

/** The environment variable that carries `name` to the job. */
export function parameterVariable(name: string): string {
  return `BATCAT_PARAM_${name.toUpperCase()}`;
}

/** The run input path of `name`'s value. */
export function parameterPath(name: string): string {
  return `$.parameters.${name}`;
}

const show = (v: unknown) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

/**
 * `value` as the run carries it (text), or the problem with it. Accepts what a YAML file or a
 * command line gives: `0.7` or '0.7' for a number, true or 'true' for a boolean.
 */
export function parameterValue(name: string, spec: ParameterSpec, value: unknown): { value?: string; problem?: string } {
  const text =
    typeof value === 'string' ? value.trim() : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
  const bad = (what: string) => ({ problem: `parameter '${name}' is ${spec.type}: ${show(value)} ${what}` });
  if (text === undefined) return bad(`is not a value; give ${example(spec)}`);
  let normal: string;
  switch (spec.type) {
    case 'string':
      normal = String(value);
      break;
    case 'boolean':
      if (text !== 'true' && text !== 'false') return bad("is not a boolean; give 'true' or 'false'");
      normal = text;
      break;
    case 'integer':
      if (!/^-?\d{1,15}$/.test(text)) return bad('is not a whole number; give e.g. 42');
      normal = String(Number(text));
      break;
    case 'number':
      if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text) || !Number.isFinite(Number(text)))
        return bad('is not a number; give e.g. 0.7');
      normal = String(Number(text));
      break;
    case 'date': {
      const p = dateProblem(text, `parameter '${name}'`);
      if (p) return { problem: p };
      normal = text;
      break;
    }
  }
  const numeric = spec.type === 'number' || spec.type === 'integer';
  const cmp = (a: string, b: string | number) => (numeric ? Number(a) - Number(b) : a < String(b) ? -1 : a > String(b) ? 1 : 0);
  if (spec.min !== undefined && cmp(normal, spec.min) < 0) return bad(`is below its min ${show(spec.min)}`);
  if (spec.max !== undefined && cmp(normal, spec.max) > 0) return bad(`is above its max ${show(spec.max)}`);
  if (spec.allowed && !spec.allowed.some((a) => cmp(normal, a) === 0)) {
    return bad(`is not allowed; allowed: ${spec.allowed.map(show).join(', ')}`);
  }
  return { value: normal };
}

function example(spec: ParameterSpec): string {
  return { string: 'some text', number: '0.7', integer: '42', boolean: 'true or false', date: 'a date such as 2026-11-01' }[spec.type];
}

/** The problems of a purpose's declared parameters, each with the field it is at. */
export function parameterSpecProblems(specs: Readonly<Record<string, ParameterSpec>>): Array<{ path: string[]; message: string }> {
  const out: Array<{ path: string[]; message: string }> = [];
  const names = Object.keys(specs);
  if (names.length > MAX_PARAMETERS) {
    out.push({ path: [], message: `${names.length} parameters are too many; a purpose may declare at most ${MAX_PARAMETERS}` });
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (!PARAMETER_NAME.test(name)) {
      out.push({
        path: [name],
        message: `parameter name ${show(name)} is invalid: use a lower-case letter, then lower-case letters, digits or _ (at most 40), e.g. 'threshold'; the job reads it as ${parameterVariable('threshold')}`,
      });
      continue;
    }
    if (!PARAMETER_TYPES.includes(spec.type)) {
      out.push({ path: [name, 'type'], message: `${show(spec.type)} is not a parameter type; allowed: ${PARAMETER_TYPES.join(', ')}` });
      continue;
    }
    const range = spec.type === 'number' || spec.type === 'integer' || spec.type === 'date';
    const listed = spec.type === 'string' || spec.type === 'number' || spec.type === 'integer';
    for (const key of ['min', 'max'] as const) {
      if (spec[key] === undefined) continue;
      if (!range) out.push({ path: [name, key], message: `${key} applies to number, integer and date parameters, not to ${spec.type}` });
      else {
        const p = parameterValue(name, { type: spec.type } as ParameterSpec, spec[key]).problem;
        if (p) out.push({ path: [name, key], message: `${key}: ${p}` });
      }
    }
    if (spec.allowed !== undefined) {
      if (!listed)
        out.push({ path: [name, 'allowed'], message: `allowed applies to string, number and integer parameters, not to ${spec.type}` });
      else if (spec.allowed.length === 0)
        out.push({ path: [name, 'allowed'], message: 'allowed lists no value; list at least one, or leave it out' });
    }
    if (spec.default === undefined) {
      out.push({
        path: [name, 'default'],
        message: `parameter '${name}' needs a default: schedule, S3 and upstream runs use it, and a manual run may change it with --param ${name}=...`,
      });
    } else if (out.every((o) => o.path[0] !== name)) {
      const p = parameterValue(name, spec, spec.default).problem;
      if (p) out.push({ path: [name, 'default'], message: `default: ${p}` });
    }
  }
  return out;
}

/** Thrown when a run's parameters cannot be used: nothing is started. */
export class ParameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParameterError';
  }
}

/**
 * Every parameter's value for one run: `given` (from `--param`) over the defaults. Throws
 * ParameterError naming every unknown name, wrong type and out-of-range value at once.
 */
export function resolveParameters(
  purpose: string,
  specs: Readonly<Record<string, ParameterSpec>>,
  given: Readonly<Record<string, unknown>> = {},
): Record<string, string> {
  const names = Object.keys(specs);
  if (names.length === 0 && Object.keys(given).length > 0) {
    throw new ParameterError(
      `purpose '${purpose}' declares no parameters, so --param ${Object.keys(given).join(', ')} cannot be given; declare them under 'parameters:' in the project file`,
    );
  }
  const problems: string[] = [];
  for (const name of Object.keys(given)) {
    if (!(name in specs)) {
      const meant = didYouMean(name, names);
      problems.push(
        `'${name}' is not a parameter of '${purpose}'${meant ? ` (did you mean '${meant}'?)` : ''}; its parameters: ${names.join(', ')}`,
      );
    }
  }
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const r = parameterValue(name, spec, name in given ? given[name] : spec.default);
    if (r.problem) problems.push(r.problem);
    else values[name] = r.value!;
  }
  if (problems.length > 0) throw new ParameterError(problems.join('; '));
  return values;
}

/** `--param name=value` options as given on a command line, refusing anything without a name and '='. */
export function parseParamOptions(options: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of options) {
    const at = o.indexOf('=');
    if (at <= 0) throw new ParameterError(`--param ${show(o)} is not name=value; write e.g. --param threshold=0.7`);
    const name = o.slice(0, at).trim();
    if (name in out) throw new ParameterError(`--param ${name} is given twice`);
    out[name] = o.slice(at + 1);
  }
  return out;
}
