import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 finding for exactly these wildcard resources
 * on `scope` (usually a role), with a reason.
 *
 * A finding id names the resource as the template spells it (`<Bucket.Arn>/raw/*`), and a
 * reference from a nested stack only gets its final spelling (a parameter) when the app is
 * prepared. So the id is computed from the resolved token in a validation hook, which runs
 * after preparation and before the validation plugins: the acknowledgement can never cover
 * more than the statement that was granted.
 */
export function acknowledgeWildcardResources(scope: IConstruct, resources: readonly string[], reason: string): void {
  scope.node.addValidation({
    validate: () => {
      const stack = Stack.of(scope);
      // Two tasks granting the same folder on one scope (a profile and a sample query) acknowledge it once.
      const done = acknowledged.get(scope) ?? new Set<string>();
      acknowledged.set(scope, done);
      for (const resource of resources) {
        const id = `AwsSolutions-IAM5[Resource::${flatten(stack.resolve(resource))}]`;
        if (done.has(id)) continue;
        done.add(id);
        Validations.of(scope).acknowledge({ id, reason });
      }
      return [];
    },
  });
}

const acknowledged = new WeakMap<IConstruct, Set<string>>();

/** Acknowledges a finding-level rule id such as `AwsSolutions-IAM5[Action::s3:GetObject*]`. */
export function acknowledgeFinding(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** Spells a resolved CloudFormation value the way cdk-nag spells it in finding ids. */
export function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  const o = node as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [separator, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(separator);
  }
  if (o['Fn::Sub']) return flatten(o['Fn::Sub']);
  if (o['Fn::GetAtt']) {
    const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (o['Fn::ImportValue']) return flatten(o['Fn::ImportValue']);
  if (o.Ref) return `<${flatten(o.Ref)}>`;
  return JSON.stringify(node);
}
