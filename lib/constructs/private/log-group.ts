import * as logs from 'aws-cdk-lib/aws-logs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { acknowledgeFinding } from './acknowledge';
import { stackUniqueName } from './stack-unique';

/** The settings every log group of a purpose shares. */
export interface LogSettings {
  readonly retention: logs.RetentionDays;
  /** Encrypts the logs; its policy must let CloudWatch Logs use it (see ProjectStack). */
  readonly encryptionKey?: kms.IKey;
}

/**
 * A log group of a purpose: retained with its stack, under `name` made unique to the stack
 * instance (or a generated name), encrypted with `encryptionKey` when there is one.
 */
export function purposeLogGroup(scope: Construct, id: string, settings: LogSettings, name?: string): logs.LogGroup {
  const group = new logs.LogGroup(scope, id, {
    logGroupName: name === undefined ? undefined : stackUniqueName(name),
    retention: settings.retention,
    encryptionKey: settings.encryptionKey,
  });
  if (!settings.encryptionKey) {
    acknowledgeFinding(
      group,
      'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check',
      'CloudWatch Logs encrypts every log group with a key of its own; pass logEncryptionKey to use a customer key (ProjectStack does).',
    );
  }
  return group;
}
