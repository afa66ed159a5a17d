import { InvalidInputError } from '../errors.ts';
import { PARAM_TYPES, type ParamType, type RenderOptions, renderValue, type SqlEngine } from './quote.ts';

/** What a statement is for: an investigation query, a workflow step, or table DDL. */
export type StatementKind = 'query' | 'workflow' | 'ddl';

/** One declared placeholder of a statement. */
export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  /** Shown in `--list`, used to render the Athena named query for the console. */
  readonly example: string;
  readonly description: string;
  /** When set, the parameter may be omitted. */
  readonly default?: string;
}

/** A parsed `sql/<engine>/<name>.sql` file: header fields plus the statement body. */
export interface SqlStatement {
  readonly engine: SqlEngine;
  readonly name: string;
  readonly kind: StatementKind;
  readonly description: string;
  readonly params: readonly ParamSpec[];
  /** `yes` or `no`, then why. */
  readonly idempotent: string;
  /** The statement without its header; placeholders still in. */
  readonly body: string;
  /** Placeholder names the body uses. */
  readonly placeholders: ReadonlySet<string>;
}

/** `{{name}}`, or `{{name:suffix}}` where a fixed file name is appended to a location. */
export const PLACEHOLDER = /\{\{([A-Za-z][A-Za-z0-9]*)(?::([A-Za-z0-9_.=-]+))?\}\}/g;
const KINDS: readonly StatementKind[] = ['query', 'workflow', 'ddl'];

/** Parses one SQL file; throws InvalidInputError naming the file on any header defect. */
export function parseStatement(engine: SqlEngine, fileName: string, text: string): SqlStatement {
  const fail = (why: string) => new InvalidInputError(`sql/${engine}/${fileName}: ${why}`);
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let i = 0;
  const header: string[] = [];
  while (i < lines.length && (lines[i]!.startsWith('--') || lines[i]!.trim() === '')) header.push(lines[i++]!);
  const body = lines.slice(i).join('\n').trim();
  if (!body) throw fail('has no statement after its header');

  const fields = new Map<string, string[]>();
  for (const line of header) {
    const m = /^--\s*(name|kind|description|param|default|idempotent):\s*(.*)$/.exec(line);
    if (m) fields.set(m[1]!, [...(fields.get(m[1]!) ?? []), m[2]!.trim()]);
  }
  const one = (key: string): string => {
    const v = fields.get(key);
    if (v?.length !== 1 || !v[0]) throw fail(`needs exactly one "-- ${key}:" header line`);
    return v[0];
  };
  const name = one('name');
  if (`${name}.sql` !== fileName) throw fail(`header name ${name} does not match the file name`);
  if (!/^[a-z]+(-[a-z0-9]+)+$/.test(name)) throw fail(`name ${name} is not <verb>-<object> kebab-case`);
  const kind = one('kind') as StatementKind;
  if (!KINDS.includes(kind)) throw fail(`kind ${kind} is not one of ${KINDS.join(', ')}`);
  const idempotent = one('idempotent');
  if (!/^(yes|no)\b/.test(idempotent)) throw fail('idempotent must start with yes or no');

  const defaults = new Map<string, string>();
  for (const d of fields.get('default') ?? []) {
    const m = /^([A-Za-z][A-Za-z0-9]*)\s+(\S+)$/.exec(d);
    if (!m) throw fail(`bad default line "${d}" (want: name value)`);
    defaults.set(m[1]!, m[2]!);
  }
  const params: ParamSpec[] = [];
  for (const p of fields.get('param') ?? []) {
    const m = /^([A-Za-z][A-Za-z0-9]*)\s+(\S+)\s+(\S+)\s+(.+)$/.exec(p);
    if (!m) throw fail(`bad param line "${p}" (want: name type example description)`);
    const [, pname, ptype, example, description] = m as unknown as [string, string, ParamType, string, string];
    if (!PARAM_TYPES.includes(ptype)) throw fail(`param ${pname}: unknown type ${ptype}`);
    if (params.some((x) => x.name === pname)) throw fail(`param ${pname} declared twice`);
    const def = defaults.get(pname);
    params.push({ name: pname, type: ptype, example, description, ...(def !== undefined ? { default: def } : {}) });
  }
  for (const d of defaults.keys()) {
    if (!params.some((p) => p.name === d)) throw fail(`default for undeclared param ${d}`);
  }

  const placeholders = new Set<string>();
  for (const m of body.matchAll(PLACEHOLDER)) {
    if (!params.some((p) => p.name === m[1])) throw fail(`placeholder {{${m[1]}}} is not declared`);
    placeholders.add(m[1]!);
  }
  if (body.replace(PLACEHOLDER, '').includes('{{')) throw fail('has a malformed {{placeholder}}');
  return { engine, name, kind, description: one('description'), params, idempotent, body, placeholders };
}

/**
 * Renders a statement: every declared parameter must be given (or defaulted), nothing else may be
 * given, and each value is validated and quoted by its type.
 */
export function renderStatement(
  stmt: SqlStatement,
  params: Readonly<Record<string, string>>,
  options: RenderOptions = {},
): string {
  const declared = new Map(stmt.params.map((p) => [p.name, p]));
  const unused = Object.keys(params).filter((k) => !declared.has(k));
  if (unused.length > 0) {
    throw new InvalidInputError(
      `${stmt.name}: unknown parameter(s) ${unused.join(', ')}; it takes ${describeParams(stmt) || 'none'}`,
    );
  }
  const missing = stmt.params.filter((p) => params[p.name] === undefined && p.default === undefined);
  if (missing.length > 0) {
    throw new InvalidInputError(`${stmt.name}: missing parameter(s) ${missing.map((p) => p.name).join(', ')}`);
  }
  return stmt.body.replace(PLACEHOLDER, (_all, pname: string, suffix: string | undefined) => {
    const spec = declared.get(pname)!;
    const value = params[pname] ?? spec.default!;
    return renderValue(stmt.engine, spec.type, pname, value, options, suffix ?? '');
  });
}

/** `name (type)` list for messages and `--list`. */
export function describeParams(stmt: SqlStatement): string {
  return stmt.params
    .map((p) => `${p.name} (${p.type}${p.default !== undefined ? `, default ${p.default}` : ''})`)
    .join(', ');
}
