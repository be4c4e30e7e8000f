#!/usr/bin/env node
import { ProjectConfigError } from '../lib/config/load-project';
import { createBatCatApp } from '../lib/app/batcat-app';

try {
  createBatCatApp({ rootDir: process.cwd() }).app.synth();
} catch (e) {
  if (!(e instanceof ProjectConfigError)) throw e;
  process.stderr.write(`Invalid project file ${e.message}\n`);
  process.exit(1);
}
