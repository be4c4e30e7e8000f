import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../contract/package-root';

export interface PackageInfo {
  readonly version: string;
  /** Exact versions a new project should use, from our own lockfile-pinned dependencies. */
  readonly awsCdkLib: string;
  readonly constructs: string;
  readonly awsCdkCli: string;
  /** The test runner of a new project's template snapshots. */
  readonly jest: string;
  /**
   * What the batcat command needs to reach AWS and to run purposes locally (the AWS SDK's
   * packages, DuckDB for local queries), by name: optional peer dependencies of batcat-cdk
   * (construct users go without), so a project lists them.
   */
  readonly commandDependencies: Record<string, string>;
  /** The CDK feature flags our app is tested with. */
  readonly cdkContext: Record<string, unknown>;
}

export function packageInfo(): PackageInfo {
  const root = packageRoot();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const cdk = JSON.parse(fs.readFileSync(path.join(root, 'cdk.json'), 'utf8'));
  const pinned = (name: string) => String(pkg.devDependencies?.[name] ?? pkg.peerDependencies?.[name] ?? '').replace(/^[\^~]/, '');
  return {
    version: pkg.version,
    awsCdkLib: pinned('aws-cdk-lib'),
    constructs: pinned('constructs'),
    awsCdkCli: pinned('aws-cdk'),
    jest: pinned('jest'),
    commandDependencies: Object.fromEntries(
      Object.keys(pkg.peerDependencies ?? {})
        .filter((n) => n.startsWith('@aws-sdk/') || n === '@duckdb/node-api')
        .map((n) => [n, pinned(n)]),
    ),
    cdkContext: cdk.context ?? {},
  };
}
