import { Aws, CfnMapping, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { FRAMEWORK_REGISTRIES, frameworkImage, type FrameworkImage } from '../contract/frameworks';
import { frameworkProblem, sparkReleaseProblem } from '../contract/rules';
import { sagemakerSparkImage } from '../contract/spark';

/**
 * One of SageMaker's prebuilt framework images (`sklearn:1.2-1`, `xgboost:1.7-1`): what
 * `SKLearnProcessor` runs a script on. The image's account depends on the region, so the URI is
 * looked up at deploy time from a mapping of the regions SageMaker publishes it in (a stack
 * in another region fails to deploy with the mapping's error, not at the first run). The job
 * role may pull from that one repository.
 */
export class SageMakerFrameworkImage extends tasks.DockerImage {
  /** `sklearn:1.2-1`; throws, listing the allowed versions, for one SageMaker does not publish. */
  public static of(name: string): SageMakerFrameworkImage {
    const problem = frameworkProblem(name);
    if (problem) throw new Error(problem);
    return new SageMakerFrameworkImage(frameworkImage(name)!);
  }

  /** SageMaker's Spark processing image (what PySparkProcessor runs) of a Spark version, `3.5`. */
  public static spark(version: string): SageMakerFrameworkImage {
    const image = sagemakerSparkImage(version);
    if (!image) throw new Error(sparkReleaseProblem('sagemaker', version));
    return new SageMakerFrameworkImage(image);
  }

  private constructor(
    /** The framework, its repository, tag and Python package. */
    public readonly framework: FrameworkImage,
  ) {
    super();
  }

  public bind(task: tasks.ISageMakerTask): tasks.DockerImageConfig {
    if (!Construct.isConstruct(task))
      throw new Error('SageMakerFrameworkImage binds to a task construct, such as SageMakerCreateProcessingJob');
    const stack = Stack.of(task);
    // One mapping per publishing account table: the framework images share one, the Spark image has its own.
    const id = this.framework.registries === FRAMEWORK_REGISTRIES ? 'SageMakerFrameworkRegistries' : 'SageMakerSparkRegistries';
    const mapping =
      (stack.node.tryFindChild(id) as CfnMapping | undefined) ??
      new CfnMapping(stack, id, {
        mapping: Object.fromEntries(Object.entries(this.framework.registries).map(([region, account]) => [region, { account }])),
        lazy: true,
      });
    const region = Token.isUnresolved(stack.region) ? Aws.REGION : stack.region;
    const account = mapping.findInMap(region, 'account');
    const { repository, tag } = this.framework;
    iam.Grant.addToPrincipal({
      grantee: task,
      actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
      resourceArns: [stack.formatArn({ service: 'ecr', account, region, resource: 'repository', resourceName: repository })],
    });
    iam.Grant.addToPrincipal({ grantee: task, actions: ['ecr:GetAuthorizationToken'], resourceArns: ['*'] });
    return { imageUri: `${account}.dkr.ecr.${region}.${Aws.URL_SUFFIX}/${repository}:${tag}` };
  }
}
