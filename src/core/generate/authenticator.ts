import type { IamIdentity } from './fleet.ts';
import type { Rng } from './rng.ts';
import { isoSeconds } from './time.ts';

const client = (rng: Rng) => `client="127.0.0.1:${rng.int(30000, 60999)}"`;

/** `msg="STS response"`: the token's caller as STS identified it. */
export function stsResponseLine(rng: Rng, t: number, id: IamIdentity, account: string, region: string): string {
  return `time="${isoSeconds(t)}" level=info msg="STS response" accesskeyid=${id.accessKeyId} accountid=${account} arn="${id.sessionArn}" ${client(rng)} method=POST path=/authenticate session=${id.sessionName} stsendpoint=sts.${region}.amazonaws.com userid=${id.roleId}`;
}

/** `msg="access granted"`: the IAM role mapped to a Kubernetes username and groups. */
export function accessGrantedLine(rng: Rng, t: number, id: IamIdentity, account: string, username: string): string {
  return `time="${isoSeconds(t)}" level=info msg="access granted" arn="${id.roleArn}" ${client(rng)} groups="[${id.groups.filter((g) => g !== 'system:authenticated').join(' ')}]" method=POST path=/authenticate uid="aws-iam-authenticator:${account}:${id.roleId}" username="${username}"`;
}

/** `msg="access denied"` with an unmapped ARN, or a malformed token with no ARN at all. */
export function accessDeniedLine(rng: Rng, t: number, arn: string | undefined): string {
  if (arn === undefined)
    return `time="${isoSeconds(t)}" level=warning msg="access denied" ${client(rng)} error="input token was not properly formatted: token is missing expected \\"k8s-aws-v1.\\" prefix" method=POST path=/authenticate`;
  return `time="${isoSeconds(t)}" level=warning msg="access denied" arn="${arn}" ${client(rng)} error="ARN is not mapped" method=POST path=/authenticate`;
}

/** Periodic informational lines (mapper reloads, metrics). */
export function authenticatorNoiseLine(rng: Rng, t: number): string {
  return rng.chance(0.5)
    ? `time="${isoSeconds(t)}" level=info msg="mapper loaded" mapper=EKSConfigMap`
    : `time="${isoSeconds(t)}" level=info msg="Received dynamic file update" file=/etc/kubernetes/aws-iam-authenticator/access-entries/access-entries.json`;
}
