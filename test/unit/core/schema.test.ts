import { describe, expect, it } from 'vitest';
import { PARTITION_KEYS, TABLES } from '../../../src/core/schema.ts';

describe('curated schema', () => {
  it('keeps the common columns design §4 requires on every compaction table', () => {
    for (const t of TABLES.filter((x) => x.producer === 'compaction')) {
      const names = t.columns.map((c) => c.name);
      for (const c of ['time', 'event_id', 'cwl_timestamp', 'region', 'log_group', 'log_stream']) {
        expect(names, `${t.name}.${c}`).toContain(c);
      }
    }
  });

  it('uses lower_snake names, unique per table, and sorts only by its own columns', () => {
    for (const t of TABLES) {
      const names = [...t.columns, ...t.partitionKeys].map((c) => c.name);
      expect(new Set(names).size).toBe(names.length);
      for (const n of names) expect(n).toMatch(/^[a-z][a-z0-9_]*$/);
      for (const k of t.sortBy) expect(t.columns.map((c) => c.name)).toContain(k);
      expect(t.partitionKeys).toEqual(PARTITION_KEYS);
    }
  });

  it('promotes the audit columns design §4 lists', () => {
    const audit = TABLES.find((t) => t.name === 'audit_events')!.columns.map((c) => c.name);
    for (const c of [
      'verb',
      'username',
      'user_groups',
      'source_ips',
      'user_agent',
      'resource',
      'subresource',
      'namespace',
      'name',
      'api_group',
      'response_code',
      'authz_decision',
      'request_received_time',
      'stage_time',
      'latency_ms',
      'request_object',
      'response_object',
    ]) {
      expect(audit).toContain(c);
    }
  });
});
