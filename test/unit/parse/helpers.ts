import { gzipSync } from 'node:zlib';
import type { SubscriptionMessage } from '../../../src/core/types.ts';

/** A CloudWatch-shaped 56-digit event id. */
export function cwlId(n: number): string {
  return `3${String(n).padStart(55, '0')}`;
}

/** A DATA_MESSAGE from one EKS stream with the given event messages. */
export function dataMessage(
  logStream: string,
  messages: readonly string[],
  opts: { logGroup?: string; timestamp?: number; owner?: string } = {},
): SubscriptionMessage {
  return {
    messageType: 'DATA_MESSAGE',
    owner: opts.owner ?? '111122223333',
    logGroup: opts.logGroup ?? '/aws/eks/prod-eu/cluster',
    logStream,
    subscriptionFilters: ['eks-log-lake'],
    logEvents: messages.map((message, i) => ({
      id: cwlId(i),
      timestamp: opts.timestamp ?? Date.UTC(2024, 4, 20, 4, 14, 54, 123),
      message,
    })),
  };
}

/** The payload bytes CloudWatch would send for a message object (gzip'd JSON). */
export function gzipJson(value: unknown): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(value), 'utf8'));
}

export const CTX = { region: 'eu-west-1' } as const;
