import { spawnSync } from 'node:child_process';

/*
 * AWS API models, as an independent check of what a state machine sends to a service
 * (CreateProcessingJob to SageMaker, StartJobRun to EMR Serverless). botocore's models (in this
 * machine's Python, next to moto) have every constraint: enums, patterns, lengths. Where Python
 * has no botocore, the models the npm package aws-sdk (v2) ships are used: member names,
 * required members and types, without the constraints.
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

interface Model {
  readonly shapes: Record<string, Shape>;
  readonly request: Shape;
  readonly source: string;
}

/** `service`'s model with the request shape of `operation`; the aws-sdk v2 file is `<service>-<version>.min.json`. */
function loadModel(service: string, operation: string, v2File: string): Model {
  const probe = spawnSync(
    'python3',
    [
      '-c',
      `import json, botocore.loaders as l; m = l.Loader().load_service_model('${service}', 'service-2'); print(json.dumps([m['shapes'], m['operations']['${operation}']['input']['shape']]))`,
    ],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (probe.status === 0) {
    const [shapes, input] = JSON.parse(probe.stdout) as [Record<string, Shape>, string];
    return { shapes, request: shapes[input], source: `botocore's ${service} service-2.json` };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const min = require(`aws-sdk/apis/${v2File}`) as { shapes: Record<string, Shape>; operations: Record<string, { input: Shape }> };
  console.warn(`python3 has no botocore: checking ${operation} against aws-sdk v2 ${v2File} (structure only, no enums or patterns)`);
  return { shapes: min.shapes, request: min.operations[operation].input, source: `aws-sdk v2 ${v2File}` };
}

const models = new Map<string, Model>();
const modelOf = (service: string, operation: string, v2File: string): Model => {
  const key = `${service} ${operation}`;
  if (!models.has(key)) models.set(key, loadModel(service, operation, v2File));
  return models.get(key)!;
};
const SAGEMAKER = ['sagemaker', 'CreateProcessingJob', 'sagemaker-2017-07-24.min.json'] as const;
const EMR_SERVERLESS = ['emr-serverless', 'StartJobRun', 'emr-serverless-2021-07-13.min.json'] as const;

/** Where the SageMaker model came from. */
export function apiModelSource(): string {
  return modelOf(...SAGEMAKER).source;
}

/** Every way `params` breaks the CreateProcessingJob request shape, each with its path. */
export function createProcessingJobProblems(params: unknown): string[] {
  return requestProblems(modelOf(...SAGEMAKER), 'CreateProcessingJob', params, (k) => k);
}

/**
 * Every way the Parameters of an `emr-serverless:startJobRun` task break the StartJobRun
 * request shape. The Step Functions integration names the API's members in PascalCase
 * (`ApplicationId` for `applicationId`); map keys (tags, properties) are as given.
 */
export function startJobRunProblems(params: unknown): string[] {
  return requestProblems(modelOf(...EMR_SERVERLESS), 'StartJobRun', params, (k) => k.charAt(0).toLowerCase() + k.slice(1));
}

/** Every way `params` breaks the model's request shape, each with its path; `member` maps a given key to the model's name. */
function requestProblems(model: Model, operation: string, params: unknown, member: (key: string) => string): string[] {
  const { shapes } = model;
  const problems: string[] = [];
  const resolve = (s: Shape): Shape => (s.shape ? { ...resolve(shapes[s.shape]), ...s, shape: undefined } : s);
  const check = (value: unknown, s0: Shape, at: string) => {
    const s = resolve(s0);
    const type = s.type ?? 'string';
    if (type === 'structure') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return problems.push(`${at}: expected an object`);
      const v = value as Record<string, unknown>;
      const given = new Set(
        Object.keys(v)
          .filter((k) => v[k] !== undefined)
          .map(member),
      );
      for (const r of s.required ?? []) if (!given.has(r)) problems.push(`${at}.${r}: required`);
      for (const [k, x] of Object.entries(v)) {
        if (x === undefined) continue;
        const m = s.members?.[member(k)];
        if (!m) problems.push(`${at}.${k}: not a member (members: ${Object.keys(s.members ?? {}).join(', ')})`);
        else check(x, m, `${at}.${k}`);
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
  check(params, model.request, operation);
  return problems;
}

const FIREHOSE = ['firehose', 'CreateDeliveryStream', 'firehose-2015-08-04.min.json'] as const;

/** What a synthesized template's `Ref`s and `Fn::*`s stand for in a request, by the member that holds them. */
const STAND_INS: Record<string, string> = {
  BucketARN: 'arn:aws:s3:::batcat-demo-data',
  RoleARN: 'arn:aws:iam::123456789012:role/batcat/demo/dev/firehose',
  RoleArn: 'arn:aws:iam::123456789012:role/batcat/demo/dev/feature-store',
  AWSKMSKeyARN: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  KeyARN: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  KmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  CatalogId: '123456789012',
  Catalog: 'AwsDataCatalog',
  Region: 'eu-west-1',
  DatabaseName: 'batcat_demo_dev',
  Database: 'batcat_demo_dev',
  LogGroupName: 'batcat-demo-dev-Ingest-telemetryLogs-AbCdEf',
  LogStreamName: 'batcat-demo-dev-Ingest-telemetryLogsDelivery-AbCdEf',
  S3Uri: 's3://batcat-demo-data/features/',
};

/** `value` with each CloudFormation intrinsic replaced by what it stands for in the member that holds it. */
function withoutIntrinsics(value: unknown, member = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => withoutIntrinsics(v, member));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
    if (!(member in STAND_INS)) throw new Error(`no stand-in for an intrinsic in ${member}: ${JSON.stringify(value)}`);
    return STAND_INS[member];
  }
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, withoutIntrinsics(v, k)]));
}

/**
 * Every way an `AWS::KinesisFirehose::DeliveryStream`'s properties break the CreateDeliveryStream
 * request shape (CloudFormation passes them as the API's members, same names), intrinsics replaced
 * by stand-ins of their kind.
 */
export function createDeliveryStreamProblems(properties: unknown): string[] {
  return requestProblems(modelOf(...FIREHOSE), 'CreateDeliveryStream', withoutIntrinsics(properties), (k) => k);
}

/**
 * Every way an `AWS::SageMaker::FeatureGroup`'s properties break the CreateFeatureGroup request
 * shape (CloudFormation passes them as the API's members, same names), intrinsics replaced by
 * stand-ins of their kind.
 */
export function createFeatureGroupProblems(properties: unknown): string[] {
  return requestProblems(
    modelOf(SAGEMAKER[0], 'CreateFeatureGroup', SAGEMAKER[2]),
    'CreateFeatureGroup',
    withoutIntrinsics(properties),
    (k) => k,
  );
}
