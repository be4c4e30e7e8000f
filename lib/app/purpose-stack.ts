import { NestedStack, type NestedStackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Purpose } from '../constructs/purpose';
import type { PurposeProps } from '../constructs/purpose-props';

/** Properties of PurposeStack. */
export interface PurposeStackProps extends NestedStackProps {
  /** The purpose this nested stack holds. */
  readonly purpose: PurposeProps;
}

/**
 * A nested stack holding one Purpose. A project stack puts every purpose in its own nested
 * stack, so a project of 100 purposes stays far below CloudFormation's 500 resources per
 * template, and adding a purpose never renames the resources of another.
 */
export class PurposeStack extends NestedStack {
  public readonly purpose: Purpose;

  constructor(scope: Construct, id: string, props: PurposeStackProps) {
    super(scope, id, { description: `BatCat purpose ${props.purpose.purposeName}`, ...props });
    this.purpose = new Purpose(this, 'Purpose', props.purpose);
  }
}
