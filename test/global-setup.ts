import * as path from 'node:path';
import { buildSync } from 'esbuild';

/*
 * Bundles the CLI, the scripted-terminal driver, the project synthesizer and the CDK entry once per test run,
 * so tests start them as plain `node` child processes instead of compiling the TypeScript
 * sources in every child (about 1 s each). The bundle holds this repository's own code only; packages
 * stay in node_modules, as they are for an installed batcat-cdk.
 */
export const CLI_BUNDLE_DIR = path.join(__dirname, '..', 'node_modules', '.cache', 'batcat-test');

export default function globalSetup(): void {
  buildSync({
    entryPoints: {
      batcat: path.join(__dirname, '..', 'lib', 'cli', 'bin.ts'),
      'terminal-driver': path.join(__dirname, 'cli', 'terminal-driver.ts'),
      'synth-project': path.join(__dirname, 'app', 'synth-project.ts'),
      'cdk-app': path.join(__dirname, '..', 'bin', 'app.ts'),
    },
    outdir: CLI_BUNDLE_DIR,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
}
