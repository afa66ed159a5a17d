import { request } from 'node:https';

/** The part of a CloudFormation custom-resource request the response has to echo. */
export interface CfnRequestIds {
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
}

export type CfnStatus = 'SUCCESS' | 'FAILED';

/** Answers a custom-resource request: a PUT of the result to the pre-signed ResponseURL. */
export type CfnRespond = (event: CfnRequestIds, status: CfnStatus, physicalId: string, reason: string) => Promise<void>;

// CloudFormation rejects responses over 4 KB; the reason is the only part that can grow.
const MAX_REASON_CHARS = 3000;

/** Sends the response with an empty content-type, which the pre-signed URL was signed for. */
export const sendCfnResponse: CfnRespond = (event, status, physicalId, reason) => {
  const body = JSON.stringify({
    Status: status,
    Reason: reason.slice(0, MAX_REASON_CHARS),
    PhysicalResourceId: physicalId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  return new Promise((resolve, reject) => {
    const req = request(
      event.ResponseURL,
      { method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end(body);
  });
};
