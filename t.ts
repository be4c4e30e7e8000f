import * as fs from 'node:fs';
import { Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { createBatCatApp } from './lib/app/batcat-app';
const { app } = createBatCatApp({ rootDir: process.cwd(), outdir: '/tmp/guardout', context: JSON.parse(fs.readFileSync('cdk.json','utf8')).context });
Validations.of(app).addPlugins(new CfnGuardValidator());
try { app.synth(); } catch (e) { console.log('THROWN'); }
const r = JSON.parse(fs.readFileSync('/tmp/guardout/validation-report.json', 'utf8'));
for (const p of r.pluginReports) for (const v of p.violations) console.log(p.pluginName, v.ruleName, v.severity, v.violatingConstructs?.map((c: any) => c.constructPath).join(' ') ?? JSON.stringify(v.violatingResources?.map((x: any) => x.resourceLogicalId)));
