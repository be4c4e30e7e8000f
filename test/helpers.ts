import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, type IPolicyValidationPluginBeta1, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { ObjectStore } from '../lib/runtime/commit';
import { inputUri, type RecordInputsRequest, type VersionLister } from '../lib/runtime/run-manifest';

export const REPO_ROOT = path.resolve(__dirname, '..');

/** Context for unit tests: no Lambda bundling, and no CDK metadata noise in templates. */
export const TEST_CONTEXT = {
  'aws:cdk:bundling-stacks': [],
  // No commit in the templates, so that they do not change with each commit of this repository.
  'batcat:git-commit': '',
  ...JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context,
};

/**
 * An app for unit tests. The built-in CloudFormation validation (a WASM engine that takes about
 * 3 s to start in every test file) is off unless `validate` is set: the tests that synthesize
 * whole project stacks and every construct variant (test/app/project-stack.test.ts) and the
 * example app keep it on.
 */
export function testApp(options: { outdir?: string; validate?: boolean } = {}): App {
  return new App({
    context: TEST_CONTEXT,
    analyticsReporting: false,
    builtinCloudFormationValidation: options.validate === true,
    outdir: options.outdir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-test-')),
  });
}

export function tempDir(prefix = 'batcat-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * The definition of the purpose's state machine in a template (or, with `backfill`, of its
 * backfill state machine), with CloudFormation references replaced by readable stand-ins.
 */
export function definitionOf(template: Template, stubs: (ref: unknown) => string = stubRef, backfill = false): any {
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine')).filter(
    (m) => String(m.Properties.StateMachineName).endsWith('-backfill') === backfill,
  );
  if (machines.length !== 1) throw new Error(`expected one ${backfill ? 'backfill' : 'purpose'} state machine, found ${machines.length}`);
  const def = machines[0].Properties.DefinitionString;
  const text =
    typeof def === 'string' ? def : (def['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : stubs(p))).join('');
  return JSON.parse(text);
}

/** Stand-ins for references: `named` picks some by their `Ref`, and stubRef covers the rest. */
export function stubRefs(named: (ref: string) => string | undefined): (ref: unknown) => string {
  return (ref) => {
    const r = (ref as { Ref?: unknown }).Ref;
    return (typeof r === 'string' ? named(r) : undefined) ?? stubRef(ref);
  };
}

function stubRef(ref: unknown): string {
  const r = ref as Record<string, any>;
  if (r.Ref === 'AWS::Partition') return 'aws';
  if (r.Ref === 'AWS::Region') return 'eu-west-1';
  if (r.Ref === 'AWS::AccountId') return '123456789012';
  if (r.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
  if (r.Ref) return String(r.Ref);
  if (r['Fn::GetAtt']) return `arn:aws:iam::123456789012:role/${r['Fn::GetAtt'][0]}`;
  if (r['Fn::FindInMap']) return `${r['Fn::FindInMap'][0]}.${r['Fn::FindInMap'][2]}`;
  if (r['Fn::Sub'])
    return String(r['Fn::Sub'])
      .replace(/\$\{AWS::AccountId\}/g, '123456789012')
      .replace(/\$\{AWS::Region\}/g, 'eu-west-1')
      .replace(/\$\{AWS::URLSuffix\}/g, 'amazonaws.com');
  return JSON.stringify(ref);
}

/** The run configuration the trigger function of a template was given, with references replaced by stand-ins. */
export function runConfigOf(template: Template, stubs: (ref: unknown) => string = stubRef): any {
  const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
    (f) => f.Properties.Environment?.Variables?.BATCAT_RUN_CONFIG !== undefined,
  );
  if (functions.length !== 1) throw new Error(`expected one trigger function, found ${functions.length}`);
  const v = functions[0].Properties.Environment.Variables.BATCAT_RUN_CONFIG;
  return JSON.parse(
    typeof v === 'string' ? v : (v['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : stubs(p))).join(''),
  );
}

/**
 * Synthesizes `app` once, with its validation plugins, and reads templates from the assembly:
 * `Template.fromStack` would synthesize (and validate) the whole app again for every stack.
 */
export function synthOnce(app: App) {
  const assembly = app.synth();
  const reportFile = path.join(assembly.directory, 'validation-report.json');
  return {
    assembly,
    /** The template of `stack`, nested or not. */
    templateOf: (stack: Stack) => Template.fromJSON(JSON.parse(fs.readFileSync(path.join(assembly.directory, stack.templateFile), 'utf8'))),
    /** Every template of the assembly, nested ones included, as JSON. */
    templates: (): any[] =>
      fs
        .readdirSync(assembly.directory)
        .filter((f) => f.endsWith('.template.json'))
        .map((f) => JSON.parse(fs.readFileSync(path.join(assembly.directory, f), 'utf8'))),
    /** Every finding of every validation plugin (the report lists only plugins that found something). */
    findings: (): string[] =>
      fs.existsSync(reportFile)
        ? JSON.parse(fs.readFileSync(reportFile, 'utf8')).pluginReports.flatMap((p: any) =>
            p.violations.map((v: any) => `${p.pluginName}: ${v.ruleName}: ${v.description}`),
          )
        : [],
  };
}

/**
 * The resources of `templates` (file name -> template) that outlive their stack (DeletionPolicy
 * Retain) under a physical name that does not change with the stack: after `cdk destroy`, the
 * next deploy of the same stage would fail with "already exists". A name that depends on
 * AWS::StackId is new for each stack instance, so it does not count.
 */
export function retainedFixedNames(templates: Record<string, any>): string[] {
  const out: string[] = [];
  for (const [file, template] of Object.entries(templates)) {
    for (const [id, r] of Object.entries<any>(template.Resources ?? {})) {
      if (!['Retain', 'RetainExceptOnCreate'].includes(r.DeletionPolicy)) continue;
      for (const [prop, value] of Object.entries<unknown>(r.Properties ?? {})) {
        if (!/Name$/.test(prop) || (typeof value === 'object' && JSON.stringify(value).includes('AWS::StackId'))) continue;
        // The name of another resource of the template (a log stream's group): that resource is checked itself.
        const ref = (value as { Ref?: string } | null)?.Ref;
        if (ref !== undefined && ref in template.Resources) continue;
        out.push(`${file}: ${id} (${r.Type}) ${prop} ${JSON.stringify(value)}`);
      }
    }
  }
  return out;
}

/**
 * A validation plugin that checks every template of the assembly, nested stacks' included, with
 * `plugin`: CDK hands plugins the top-level stacks' templates only, and nearly every resource of
 * a project lives in a nested stack. Findings still map to construct paths, so acknowledgements
 * apply. cfn-guard cannot follow a reference into another template (and the plugin fails on it),
 * so in a copy of each nested template a reference to one of its parameters, which the parent
 * stack fills, is given as a string naming that parameter.
 */
export function everyTemplate(plugin: IPolicyValidationPluginBeta1): IPolicyValidationPluginBeta1 {
  return {
    name: plugin.name,
    version: plugin.version,
    ruleIds: plugin.ruleIds,
    validate: (context) => {
      const dirs = [...new Set(context.templatePaths.map((p) => path.dirname(p)))];
      const copies = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-guard-'));
      const templatePaths = dirs.flatMap((d) =>
        fs
          .readdirSync(d)
          .filter((f) => f.endsWith('.template.json'))
          .map((f) => {
            if (!f.endsWith('.nested.template.json')) return path.join(d, f);
            const template = JSON.parse(fs.readFileSync(path.join(d, f), 'utf8'));
            const parameters = new Set(Object.keys(template.Parameters ?? {}));
            const resolve = (v: unknown): unknown =>
              Array.isArray(v)
                ? v.map(resolve)
                : v && typeof v === 'object'
                  ? Object.keys(v).length === 1 && parameters.has((v as { Ref?: string }).Ref ?? '')
                    ? `from-parent-stack:${(v as { Ref: string }).Ref}`
                    : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]))
                  : v;
            const copy = path.join(copies, f);
            fs.writeFileSync(copy, JSON.stringify({ ...template, Resources: resolve(template.Resources) }));
            return copy;
          }),
      );
      return plugin.validate({ ...context, templatePaths });
    },
  };
}

/**
 * What every data bucket has (lib/constructs/data-bucket.ts), as a `toMatchObject` pattern: SSE-KMS
 * with `key` (a matcher of KMSMasterKeyID) and Bucket Keys, all public access blocked, no ACLs,
 * versioned, and object-created events to EventBridge.
 */
export function secureDataBucket(key: unknown): Record<string, unknown> {
  return {
    BucketEncryption: {
      ServerSideEncryptionConfiguration: [
        { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key } },
      ],
    },
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    VersioningConfiguration: { Status: 'Enabled' },
    OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
  };
}

/**
 * Objects in memory, by bucket: what the partition and run-manifest steps list and write.
 * `versions` lists them as the run-manifest step does (every object one version, `v1`).
 */
export function memoryStores(objects: Record<string, string[]>) {
  const buckets = new Map<string, Map<string, string>>();
  for (const [bucket, keys] of Object.entries(objects)) buckets.set(bucket, new Map(keys.map((k) => [k, `${k}\n`])));
  const storeOf = (bucket: string): ObjectStore => {
    if (!buckets.has(bucket)) buckets.set(bucket, new Map());
    const b = buckets.get(bucket)!;
    return {
      list: async (prefix) => [...b.entries()].filter(([k]) => k.startsWith(prefix)).map(([key, body]) => ({ key, size: body.length })),
      copy: async () => undefined,
      delete: async () => undefined,
      read: async (key) => b.get(key),
      write: async (key, body) => void b.set(key, body),
    };
  };
  const versions: VersionLister = async (bucket, prefix) =>
    (await storeOf(bucket).list(prefix)).map((o) => ({ key: o.key, size: o.size, etag: '"e"', versionId: 'v1' }));
  return { storeOf, buckets, versions };
}

/** A RecordRunInputs that records nothing but answers as the real one does: the URI the job reads of each input. */
export async function recordInputsStub(given: any): Promise<any> {
  const request = given as RecordInputsRequest;
  return {
    inputs: 's3://manifests/inputs.json',
    objects: 0,
    uris: Object.fromEntries(request.inputs.map((i, n) => [`u${n}`, inputUri(i, request.run.window)])),
  };
}
