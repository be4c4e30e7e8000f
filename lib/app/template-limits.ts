import * as fs from 'node:fs';
import * as path from 'node:path';
import type {
  IPolicyValidationContextBeta1,
  IPolicyValidationPluginBeta1,
  PolicyValidationPluginReportBeta1,
  PolicyViolationBeta1,
} from 'aws-cdk-lib';

/**
 * CloudFormation's quotas for one template. CDK fails synth for more than 500 resources
 * (context `@aws-cdk/core:stackResourceLimit`), but only warns about size.
 */
export const CFN_TEMPLATE_LIMITS = { maxBytes: 1_000_000, maxResources: 500 } as const;

/** A template of the assembly, as CloudFormation's quotas count it. */
export interface TemplateSize {
  /** The template's file name in the assembly folder. */
  readonly file: string;
  /** Its size in bytes, as uploaded. */
  readonly bytes: number;
  /** How many resources it declares. */
  readonly resources: number;
}

/**
 * Every template a stack deploys: its own and those of its nested stacks, at any depth (CDK
 * hands validation plugins only the top-level templates). The stack's asset manifest, next to
 * its template, lists the nested templates.
 */
export function templatesOf(templatePath: string): TemplateSize[] {
  const dir = path.dirname(templatePath);
  const manifest = templatePath.replace(/\.template\.json$/, '.assets.json');
  const nested = fs.existsSync(manifest)
    ? Object.values<{ source: { path?: string } }>(JSON.parse(fs.readFileSync(manifest, 'utf8')).files ?? {})
        .map((f) => f.source.path ?? '')
        .filter((p) => p.endsWith('.nested.template.json'))
        .sort()
    : [];
  return [templatePath, ...nested.map((f) => path.join(dir, f))].map((file) => {
    const text = fs.readFileSync(file, 'utf8');
    return { file: path.basename(file), bytes: Buffer.byteLength(text), resources: Object.keys(JSON.parse(text).Resources ?? {}).length };
  });
}

/**
 * A validation plugin that fails synth when a template, nested ones included, is over
 * CloudFormation's size quota: CDK only warns, and the deploy fails with
 * "Template may not exceed 1000000 bytes in size".
 */
export class TemplateLimits implements IPolicyValidationPluginBeta1 {
  public readonly name = 'BatCat-TemplateLimits';
  public readonly version = '1';
  public readonly ruleIds = ['BatCat-TemplateSize'];

  validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    const violations: PolicyViolationBeta1[] = [];
    for (const templatePath of context.templatePaths) {
      for (const t of templatesOf(templatePath)) {
        const where = { locations: [], resourceLogicalId: t.file, templatePath };
        if (t.bytes > CFN_TEMPLATE_LIMITS.maxBytes)
          violations.push({
            ruleName: 'BatCat-TemplateSize',
            description: `template ${t.file} is ${t.bytes} bytes; CloudFormation rejects a template over ${CFN_TEMPLATE_LIMITS.maxBytes} bytes`,
            fix: 'split the project into two project files (each deploys as its own stack), set storage: shared (each purpose bucket adds its bucket and policy to the parent template), or shorten names and descriptions',
            violatingResources: [where],
          });
      }
    }
    return { success: violations.length === 0, violations };
  }
}
