import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { packageRoot } from '../../contract/package-root';
import { acknowledgeFinding } from './acknowledge';

/**
 * A BatCat function's role (`Role` in `scope`): assumed by Lambda, allowed to write its own log
 * group only, instead of the managed AWSLambdaBasicExecutionRole (logs:* on every group).
 */
export function functionRole(scope: Construct, description: string, logGroup: logs.ILogGroup): iam.Role {
  const role = new iam.Role(scope, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
  );
  return role;
}

/** The settings every BatCat function shares, for the handler in `lambda/<handler>/`. */
export function handlerFunction(
  scope: Construct,
  id: string,
  handler: 'trigger' | 'commit' | 'manifest' | 'run-manifest' | 'output-checks' | 'redrive' | 'feature-ingest',
  props: Pick<NodejsFunctionProps, 'functionName' | 'description' | 'environment' | 'deadLetterQueue' | 'retryAttempts' | 'tracing'> & {
    readonly role: iam.IRole;
    readonly logGroup: logs.ILogGroup;
    readonly timeout: Duration;
    readonly memorySize: number;
  },
): NodejsFunction {
  const fn = new NodejsFunction(scope, id, {
    ...props,
    entry: handlerEntry(handler),
    // The package's own folder is the bundling root, so synth does not depend on the app's
    // folder having a lock file (esbuild needs no install: the only dependencies are external).
    depsLockFilePath: path.join(packageRoot(), 'package.json'),
    handler: 'handler',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    bundling: {
      minify: true,
      sourceMap: false,
      format: OutputFormat.CJS,
      // The runtime's AWS SDK v3 keeps the bundle small and its load fast (bench/trigger-bundle.ts).
      externalModules: ['@aws-sdk/*'],
    },
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
    systemLogLevelV2: lambda.SystemLogLevel.WARN,
  });
  acknowledgeFinding(
    fn,
    'cdk-validator-cfnguard::lambda_inside_vpc_check',
    'The function calls AWS APIs only (Step Functions, DynamoDB, S3, CloudWatch, SNS) and reaches nothing in a VPC; a VPC would add endpoints or NAT and protect nothing.',
  );
  return fn;
}

/** The handler: TypeScript in this repository, compiled JavaScript in the published package. */
function handlerEntry(handler: string): string {
  const root = packageRoot();
  const candidates = [path.join(root, 'lambda', handler, 'index.ts'), path.join(root, 'dist', 'lambda', handler, 'index.js')];
  const entry = candidates.find((f) => fs.existsSync(f));
  if (!entry) throw new Error(`the ${handler} handler is missing: none of ${candidates.join(', ')} exists; reinstall batcat-cdk`);
  return entry;
}
