/*
 * Synthesizes the projects of a folder as `cdk synth` does (cdk-nag and the built-in
 * validation; Lambda bundling skipped as in every unit test), in a process of its own: under
 * jest's module system a 100-purpose synth takes about twice as long. Bundled by
 * test/global-setup.ts.
 * Usage: node synth-project.js <folder with projects/> <output folder>
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createBatCatApp } from '../../lib/app/batcat-app';
import { packageRoot } from '../../lib/contract/package-root';

const [rootDir, outdir] = process.argv.slice(2);
const context = { 'aws:cdk:bundling-stacks': [], ...JSON.parse(fs.readFileSync(path.join(packageRoot(), 'cdk.json'), 'utf8')).context };
createBatCatApp({ rootDir, outdir, context, analyticsReporting: false }).app.synth();
