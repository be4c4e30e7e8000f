import { spawnSync } from 'node:child_process';

/*
 * The SageMaker API model, as an independent check of what the state machine sends to
 * CreateProcessingJob. botocore's model (in this machine's Python, next to moto) has every
 * constraint: enums, patterns, lengths. Where Python has no botocore, the model the npm package
 * aws-sdk (v2) ships is used: member names, required members and types, without the constraints.
 */

type Shape = {
  type?: string;
  shape?: string;
  members?: Record<string, Shape>;
  required?: string[];
  member?: Shape;
  key?: Shape;
  value?: Shape;
  enum?: string[];
  min?: number;
  max?: number;
  pattern?: string;
};

function loadModel(): { shapes: Record<string, Shape>; request: Shape; source: string } {
  const probe = spawnSync(
    'python3',
    ['-c', "import json, botocore.loaders as l; print(json.dumps(l.Loader().load_service_model('sagemaker', 'service-2')['shapes']))"],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (probe.status === 0) {
    const shapes = JSON.parse(probe.stdout) as Record<string, Shape>;
    return { shapes, request: shapes.CreateProcessingJobRequest, source: "botocore's sagemaker service-2.json" };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const min = require('aws-sdk/apis/sagemaker-2017-07-24.min.json') as {
    shapes: Record<string, Shape>;
    operations: Record<string, { input: Shape }>;
  };
  console.warn('python3 has no botocore: checking CreateProcessingJob against aws-sdk v2 min.json (structure only, no enums or patterns)');
  return { shapes: min.shapes, request: min.operations.CreateProcessingJob.input, source: 'aws-sdk v2 sagemaker min.json' };
}

let model: ReturnType<typeof loadModel> | undefined;

/** Where the model came from. */
export function apiModelSource(): string {
  model ??= loadModel();
  return model.source;
}

/** Every way `params` breaks the CreateProcessingJob request shape, each with its path. */
export function createProcessingJobProblems(params: unknown): string[] {
  model ??= loadModel();
  const { shapes } = model;
  const problems: string[] = [];
  const resolve = (s: Shape): Shape => (s.shape ? { ...resolve(shapes[s.shape]), ...s, shape: undefined } : s);
  const check = (value: unknown, s0: Shape, at: string) => {
    const s = resolve(s0);
    const type = s.type ?? 'string';
    if (type === 'structure') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return problems.push(`${at}: expected an object`);
      const v = value as Record<string, unknown>;
      for (const r of s.required ?? []) if (v[r] === undefined) problems.push(`${at}.${r}: required`);
      for (const [k, x] of Object.entries(v)) {
        if (x === undefined) continue;
        const member = s.members?.[k];
        if (!member) problems.push(`${at}.${k}: not a member (members: ${Object.keys(s.members ?? {}).join(', ')})`);
        else check(x, member, `${at}.${k}`);
      }
    } else if (type === 'list') {
      if (!Array.isArray(value)) return problems.push(`${at}: expected a list`);
      if (s.min !== undefined && value.length < s.min) problems.push(`${at}: at least ${s.min} item(s)`);
      if (s.max !== undefined && value.length > s.max) problems.push(`${at}: at most ${s.max} item(s)`);
      value.forEach((x, i) => check(x, s.member!, `${at}[${i}]`));
    } else if (type === 'map') {
      if (value === null || typeof value !== 'object') return problems.push(`${at}: expected a map`);
      const entries = Object.entries(value as Record<string, unknown>);
      if (s.max !== undefined && entries.length > s.max) problems.push(`${at}: at most ${s.max} entries`);
      for (const [k, x] of entries) {
        check(k, s.key!, `${at} key ${k}`);
        check(x, s.value!, `${at}.${k}`);
      }
    } else if (type === 'integer' || type === 'long') {
      if (!Number.isInteger(value)) return problems.push(`${at}: expected an integer, got ${JSON.stringify(value)}`);
      if (s.min !== undefined && (value as number) < s.min) problems.push(`${at}: at least ${s.min}`);
      if (s.max !== undefined && (value as number) > s.max) problems.push(`${at}: at most ${s.max}`);
    } else if (type === 'boolean') {
      if (typeof value !== 'boolean') problems.push(`${at}: expected a boolean`);
    } else {
      if (typeof value !== 'string') return problems.push(`${at}: expected a string, got ${JSON.stringify(value)}`);
      if (s.enum && !s.enum.includes(value)) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${s.enum.join(', ')}`);
      if (s.min !== undefined && value.length < s.min) problems.push(`${at}: at least ${s.min} characters`);
      if (s.max !== undefined && value.length > s.max) problems.push(`${at}: at most ${s.max} characters, got ${value.length}`);
      // AWS patterns match the whole value, and '.' stops at a line break as in Java.
      if (s.pattern && !new RegExp(`^(?:${s.pattern})$`, 'u').test(value))
        problems.push(`${at}: ${JSON.stringify(value)} does not match ${s.pattern}`);
    }
    return undefined;
  };
  check(params, model.request, 'CreateProcessingJob');
  return problems;
}
