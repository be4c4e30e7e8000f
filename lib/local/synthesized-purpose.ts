import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { ProjectConfig } from '../config/load-project';
import { ProjectStack } from '../app/project-stack';
import { RUN_CONFIG_ENV } from '../contract/environment';
import type { PurposeRunConfig } from '../contract/run-input';

/** The bucket name local runs put in S3 URIs; `data/` stands in for it. */
export const LOCAL_BUCKET = 'local-data-bucket';

/** What a local run needs of a purpose, exactly as `cdk synth` renders it. */
export interface SynthesizedPurpose {
  readonly stateMachineName: string;
  /** The state machine definition (ASL), with CloudFormation references replaced by local stand-ins. */
  readonly definition: Record<string, unknown>;
  /** The trigger function's configuration, with the same stand-ins. */
  readonly runConfig: PurposeRunConfig;
}

/** Local stand-ins for the CloudFormation values a template leaves to deploy time. */
function standIn(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(standIn);
  if (node === null || typeof node !== 'object') return node;
  const o = node as Record<string, unknown>;
  const args = (fn: string) => o[fn] as [unknown, unknown];
  if (o['Fn::Join']) return (args('Fn::Join')[1] as unknown[]).map((p) => String(standIn(p))).join(String(args('Fn::Join')[0]));
  if (o['Fn::Select']) return (standIn(args('Fn::Select')[1]) as unknown[])[Number(standIn(args('Fn::Select')[0]))];
  if (o['Fn::Split']) return String(standIn(args('Fn::Split')[1])).split(String(args('Fn::Split')[0]));
  if (o['Fn::Sub'] !== undefined) {
    const [text, vars] = Array.isArray(o['Fn::Sub']) ? (o['Fn::Sub'] as [string, Record<string, unknown>]) : [o['Fn::Sub'] as string, {}];
    return text.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
      String(
        vars[name] !== undefined
          ? standIn(vars[name])
          : name.includes('.')
            ? standIn({ 'Fn::GetAtt': name.split('.') })
            : standIn({ Ref: name }),
      ),
    );
  }
  if (o['Fn::FindInMap'] !== undefined) return `local-${(o['Fn::FindInMap'] as unknown[]).map((x) => String(standIn(x))).join('-')}`;
  if (o.Ref !== undefined) {
    const ref = o.Ref as string;
    if (ref === 'AWS::Partition') return 'aws';
    if (ref === 'AWS::Region') return 'local';
    if (ref === 'AWS::AccountId') return '000000000000';
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    if (/DataBucket/.test(ref) && !/Arn/.test(ref)) return LOCAL_BUCKET;
    return `local-${ref}`;
  }
  if (o['Fn::GetAtt']) {
    const [resource, attribute] = [o['Fn::GetAtt'] as string | string[]].flat().join('.').split('.');
    // A role's ARN as IAM writes it, so the job description reads (and validates) like the real one.
    if (attribute === 'Arn' && /Role/.test(resource)) return `arn:aws:iam::000000000000:role/${resource}`;
    if (attribute === 'Arn' && /Key/.test(resource)) return `arn:aws:kms:local:000000000000:key/${resource}`;
    return `arn:aws:local:${resource}.${attribute}`;
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, standIn(v)]));
}

/**
 * Builds the project's stack in memory (no Lambda bundling, no Docker) and takes each purpose's (or those of `only`)
 * state machine definition and trigger configuration from it: the same definitions `cdk synth`
 * writes and Step Functions runs.
 */
export function synthesizePurposes(project: ProjectConfig, only?: readonly string[]): Map<string, SynthesizedPurpose> {
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [] },
    outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-local-synth-')),
  });
  try {
    const stack = new ProjectStack(app, project.stackName, { config: project });
    return new Map(
      // Resolving a definition is the costly part: only the purposes asked for (a local run needs one of maybe 100).
      Object.entries(stack.purposes)
        .filter(([name]) => only === undefined || only.includes(name))
        .map(([name, purpose]) => {
          const nested = Stack.of(purpose);
          const machine = purpose.stateMachine.node.defaultChild as sfn.CfnStateMachine;
          const definition = standIn(nested.resolve(machine.definitionString));
          const fn = purpose.trigger!.function.node.defaultChild as lambda.CfnFunction; // project purposes always have their trigger
          const env = nested.resolve(fn.environment) as { variables: Record<string, unknown> };
          return [
            name,
            {
              stateMachineName: purpose.stateMachineName,
              definition: JSON.parse(String(definition)),
              runConfig: JSON.parse(String(standIn(env.variables[RUN_CONFIG_ENV]))),
            },
          ];
        }),
    );
  } finally {
    fs.rmSync(app.outdir, { recursive: true, force: true });
  }
}

/** One purpose of `synthesizePurposes`. */
export function synthesizePurpose(project: ProjectConfig, purposeName: string): SynthesizedPurpose {
  const purpose = synthesizePurposes(project, [purposeName]).get(purposeName);
  if (!purpose) throw new Error(`project '${project.project}' has no purpose '${purposeName}'`);
  return purpose;
}
