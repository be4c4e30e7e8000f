import { ArnFormat, Aws, Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/**
 * Lets only the state machine named `stateMachineName`, in this account, take its role. CDK's
 * own trust admits every state machine of the account and region (`stateMachine:*`), so
 * anyone allowed to create one could pass this role to it.
 */
export function trustOwnStateMachineOnly(stateMachine: sfn.StateMachine, stateMachineName: string): void {
  const arn = Stack.of(stateMachine).formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: stateMachineName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  (stateMachine.role.node.defaultChild as iam.CfnRole).addPropertyOverride('AssumeRolePolicyDocument.Statement', [
    {
      Action: 'sts:AssumeRole',
      Effect: 'Allow',
      Principal: { Service: 'states.amazonaws.com' },
      Condition: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID }, ArnEquals: { 'aws:SourceArn': arn } },
    },
  ]);
}
