import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAMBDA_TASKS, loadLocalDefinition } from '../../src/adapters/local/local-workflow-runner.ts';
import { ConfigError } from '../../src/core/errors.ts';
import {
  COMPACTION_DEFINITION_FILE,
  functionFileOf,
  LOCAL_SUBSTITUTIONS,
  placeholdersOf,
  REQUIRED_SUBSTITUTIONS,
  renderDefinition,
} from '../../src/core/workflow/load-definition.ts';

/** `${name}` without writing a template-looking string literal. */
const ph = (name: string) => ['$', '{', name, '}'].join('');
const ROOT = resolve(__dirname, '../..');
const TEXT = readFileSync(resolve(ROOT, COMPACTION_DEFINITION_FILE), 'utf8');
const validate = require('asl-validator') as (
  def: unknown,
  opts: { checkArn: boolean; checkPaths: boolean },
) => { isValid: boolean; errors: unknown[] };

interface State {
  Type: string;
  Resource?: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[] }[];
  ItemProcessor?: { States: Record<string, State>; ProcessorConfig?: { Mode?: string } };
  [k: string]: unknown;
}

/** Every state, including those inside Map item processors, by name. */
function allStates(states: Record<string, State>): Record<string, State> {
  const out: Record<string, State> = {};
  for (const [name, s] of Object.entries(states)) {
    out[name] = s;
    if (s.ItemProcessor) Object.assign(out, allStates(s.ItemProcessor.States));
  }
  return out;
}

const rendered = loadLocalDefinition() as { States: Record<string, State> };
const states = allStates(rendered.States);

describe('statemachine/compaction.asl.json', () => {
  it('passes asl-validator with ARN and path checks after local substitution', () => {
    const result = validate(rendered, { checkArn: true, checkPaths: true });
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('passes asl-validator as CDK sees it, placeholders still in', () => {
    expect(validate(JSON.parse(TEXT), { checkArn: false, checkPaths: true }).isValid).toBe(true);
  });

  it('uses exactly the exported substitutions, each PascalCase and ending in Arn, Name or Bucket', () => {
    expect(placeholdersOf(TEXT)).toEqual([...REQUIRED_SUBSTITUTIONS].sort());
    for (const name of REQUIRED_SUBSTITUTIONS) {
      expect(name).toMatch(/^[A-Z][A-Za-z0-9]*(Arn|Name|Bucket)$/);
      expect(LOCAL_SUBSTITUTIONS[name]).toMatch(/^arn:aws:lambda:/);
    }
  });

  it('has a functions/<kebab-name>.ts entry for every Lambda substitution', () => {
    for (const name of REQUIRED_SUBSTITUTIONS) {
      expect(existsSync(resolve(ROOT, functionFileOf(name))), functionFileOf(name)).toBe(true);
    }
  });

  it('has a local stand-in for every Task state and no stand-in without a Task state', () => {
    const tasks = Object.entries(states)
      .filter(([, s]) => s.Type === 'Task')
      .map(([n]) => n)
      .sort();
    expect(tasks).toEqual([...Object.keys(LAMBDA_TASKS), 'StartChildExecution'].sort());
  });

  it('names every state that does or decides something as a PascalCase verb phrase; end states name the outcome', () => {
    const verbs =
      /^(Validate|Summarize|Acquire|Plan|Stage|Merge|Publish|Run|Write|Collect|Release|Start|Choose|Check|Keep|Skip|Record)[A-Z]\w+$/;
    for (const [name, s] of Object.entries(states)) {
      if (['Task', 'Map', 'Choice', 'Pass'].includes(s.Type)) expect(name, s.Type).toMatch(verbs);
      else expect(['Fail', 'Succeed'], name).toContain(s.Type);
    }
  });

  it.each(['StageObjects', 'MergePartition', 'RunAthenaSteps'])(
    'retries a Lambda timeout in %s under every name Step Functions reports it by',
    (name) => {
      // A Task timeout is States.Timeout; the function's own timeout arrives as Sandbox.Timedout on
      // current runtimes and as Lambda.Unknown (with out-of-memory kills) on older ones.
      const retried = (states[name]!.Retry ?? []).flatMap((r) => r.ErrorEquals);
      for (const e of ['States.Timeout', 'Sandbox.Timedout', 'Lambda.Unknown']) expect(retried, e).toContain(e);
    },
  );

  it('uses nothing the local runner cannot execute (JSONata, Assign, Distributed Map, ItemReader)', () => {
    expect(TEXT).not.toMatch(/"QueryLanguage"|"Assign"|"ItemReader"|"ResultWriter"|"ItemBatcher"|DISTRIBUTED/);
  });

  it('names our own errors before States.ALL in every Retry and Catch', () => {
    for (const [name, s] of Object.entries(states)) {
      for (const list of [s.Retry ?? [], s.Catch ?? []]) {
        const all = list.findIndex((r) => r.ErrorEquals.includes('States.ALL'));
        if (all < 0) continue;
        expect(list[all]!.ErrorEquals, `${name}: States.ALL must stand alone`).toEqual(['States.ALL']);
        expect(all, `${name}: States.ALL must be the last matcher`).toBe(list.length - 1);
        if (s.Resource?.includes('lambda:invoke')) {
          const named = list.slice(0, all + 1).flatMap((r) => r.ErrorEquals);
          expect(
            named.some((e) => /Error$/.test(e)),
            `${name} names a PipelineError before States.ALL`,
          ).toBe(true);
        }
      }
    }
  });

  it('retries transient errors and never retries a lost lease', () => {
    for (const [name, s] of Object.entries(states)) {
      if (!s.Resource?.includes('lambda:invoke')) continue;
      const retried = (s.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(retried, name).toContain('Lambda.ServiceException');
      expect(retried, name).not.toContain('LeaseLostError');
      expect(retried, name).not.toContain('States.ALL');
    }
  });

  it('passes ReleaseLease on every way from a held lease to success, and catches nothing there', () => {
    const top = rendered.States as Record<string, State & { Next?: string; Default?: string; End?: boolean }>;
    const next = (s: (typeof top)[string]) => [
      ...(s.Next ? [s.Next] : []),
      ...(s.Default ? [s.Default] : []),
      ...((s.Choices as { Next: string }[] | undefined) ?? []).map((c) => c.Next),
      ...((s.Catch as { Next: string }[] | undefined) ?? []).map((c) => c.Next),
    ];
    // From AcquireLease's success on, without going through ReleaseLease: no Succeed, no End.
    const seen = new Set<string>();
    const todo = [top.AcquireLease!.Next as string];
    while (todo.length > 0) {
      const name = todo.pop()!;
      if (seen.has(name) || name === 'ReleaseLease') continue;
      seen.add(name);
      const s = top[name]!;
      expect(s.Type === 'Succeed' || s.End === true, `${name} ends a run that still holds the lease`).toBe(false);
      todo.push(...next(s));
    }
    expect(seen.has('WriteLedger')).toBe(true);
    expect(top.ReleaseLease!.Catch).toBeUndefined();
  });
});

describe('renderDefinition', () => {
  it('fails naming every placeholder without a substitution', () => {
    const { PlanWindowFunctionArn: _a, StageObjectsFunctionArn: _b, ...partial } = LOCAL_SUBSTITUTIONS;
    expect(() => renderDefinition(TEXT, partial)).toThrow(ConfigError);
    expect(() => renderDefinition(TEXT, partial)).toThrow('PlanWindowFunctionArn, StageObjectsFunctionArn');
  });

  it('fails when a substitution value itself leaves a placeholder behind', () => {
    expect(() => renderDefinition(`{"a": "${ph('X')}"}`, { X: ph('Y') })).toThrow(ConfigError);
  });

  it('replaces every occurrence', () => {
    expect(renderDefinition(`{"a": "${ph('X')}", "b": "${ph('X')}-2"}`, { X: 'v' })).toEqual({ a: 'v', b: 'v-2' });
  });
});
