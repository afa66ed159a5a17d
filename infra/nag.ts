import { Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/** One cdk-nag finding to acknowledge, always with the reason it is acceptable. */
export interface NagAck {
  readonly id: string;
  readonly reason: string;
}

/** Acknowledges cdk-nag rules on `scope` and everything below it; every entry carries a reason. */
export function acknowledge(scope: IConstruct, ...acks: NagAck[]): void {
  for (const a of acks) {
    if (a.reason.trim().length < 10) throw new Error(`cdk-nag acknowledgement ${a.id} needs a real reason`);
  }
  Validations.of(scope).acknowledge(...acks);
}

/**
 * The AwsSolutions-IAM5 finding id cdk-nag reports for a wildcard resource (tokens flattened the
 * way cdk-nag prints them, e.g. `<LakeBucket1234.Arn>/raw/*`); v3 acknowledges each one exactly.
 */
export function iam5ResourceId(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(resource))}]`;
}

/** Acknowledges one wildcard resource of an IAM policy below `scope`. */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  acknowledge(scope, { id: iam5ResourceId(scope, resource), reason });
}

/** Acknowledges one wildcard action (e.g. `s3:GetObject*`) of an IAM policy below `scope`. */
export function acknowledgeWildcardAction(scope: IConstruct, action: string, reason: string): void {
  acknowledge(scope, { id: `AwsSolutions-IAM5[Action::${action}]`, reason });
}
