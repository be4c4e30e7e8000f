import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { ProjectStack } from './project-stack';
import { CFN_TEMPLATE_LIMITS, templatesOf } from './template-limits';

/**
 * What a synth of the BatCat app made and checked, in a few lines: per stack its purposes, its
 * templates (nested ones included) with the largest against CloudFormation's limit, and the
 * checks that passed with how many findings are acknowledged.
 */
export function synthSummary(assembly: CloudAssembly, stacks: readonly ProjectStack[], checks: readonly string[]): string[] {
  const kb = (bytes: number) => `${Math.ceil(bytes / 1000)} KB`;
  const lines: string[] = [];
  let acknowledged = 0;
  for (const stack of stacks) {
    const artifact = assembly.getStackArtifact(stack.artifactId);
    const templates = templatesOf(artifact.templateFullPath);
    const largest = templates.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    // Acknowledgements of the nested stacks are recorded with their parent's.
    acknowledged += artifact
      .findMetadataByType('aws:cdk:acknowledged-rules')
      .reduce((n, m) => n + Object.keys(m.data as unknown as Record<string, string>).length, 0);
    const purposes = Object.keys(stack.purposes).length;
    lines.push(
      `${stack.stackName}: ${purposes} purpose${purposes === 1 ? '' : 's'}, ${templates.length} templates, ` +
        `${templates.reduce((n, t) => n + t.resources, 0)} resources; largest template ${kb(largest.bytes)} of ${kb(CFN_TEMPLATE_LIMITS.maxBytes)} (${largest.file})`,
    );
  }
  lines.push(`checks passed: ${checks.join(', ')}; ${acknowledged} findings acknowledged, each with its reason (cdk.out/*.metadata.json)`);
  lines.push(`templates in ${path.relative(process.cwd(), assembly.directory) || '.'}/`);
  return lines;
}

/** Why synth stopped, when a check failed: CDK has printed each finding with its rule and fix just before. */
export function checksFailedMessage(outdir: string): string {
  const file = path.join(outdir, 'validation-report.json');
  const report = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { pluginReports: [] };
  const failed = (report.pluginReports as Array<{ violations: Array<{ severity?: string }> }>)
    .flatMap((p) => p.violations)
    .filter((v) => v.severity !== 'warning').length;
  return `synth stopped: ${failed} check finding${failed === 1 ? '' : 's'} (listed above with the rule, the resource and the fix); the full report is ${path.relative(process.cwd(), file)}`;
}
