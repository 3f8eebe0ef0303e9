/**
 * Validates a gateway config object: fills defaults, checks it against the schema and
 * checks cross-references, reporting every problem at once. The result is frozen.
 */
import { KindGuard, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { WanjiError } from '../../protocol/errors.js';
import { GATEWAY_ERROR_CODES } from '../errors.js';
import { crossIssues } from './crossref.js';
import { type ConfigIssue, isRecord, schemaIssues, type VariantChooser } from './issues.js';
import { CONNECTION_TYPES, type GatewayConfig, GatewayConfigSchema, PROTOCOL_SCHEMAS } from './schema.js';

export type { ConfigIssue } from './issues.js';

export class ConfigError extends WanjiError<typeof GATEWAY_ERROR_CODES.config> {
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[], options?: ErrorOptions) {
    super(GATEWAY_ERROR_CODES.config, formatIssues(file, issues), options);
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

export function formatIssues(file: string, issues: readonly ConfigIssue[]): string {
  const count = issues.length === 1 ? 'a problem' : `${issues.length} problems`;
  const lines = issues.map((i) => `  ${i.path === '' ? '(file)' : i.path}: ${i.message}\n    fix: ${i.fix}`);
  return `${file}: ${count} in the gateway config\n${lines.join('\n')}`;
}

const TAG_PATH = /^\/machines\/(\d+)\/tags\/\d+$/;

/** The connection type a machine's `connection` resolves to, if it resolves. */
export function connectionTypeOf(
  root: unknown,
  machineIndex: number,
): keyof typeof PROTOCOL_SCHEMAS | undefined {
  if (!isRecord(root) || !Array.isArray(root.machines) || !Array.isArray(root.connections)) return undefined;
  const m: unknown = root.machines[machineIndex];
  if (!isRecord(m)) return undefined;
  const c: unknown = root.connections.find((c: unknown) => isRecord(c) && c.id === m.connection);
  if (!isRecord(c) || typeof c.type !== 'string') return undefined;
  return Object.hasOwn(PROTOCOL_SCHEMAS, c.type) ? (c.type as keyof typeof PROTOCOL_SCHEMAS) : undefined;
}

function discriminant(variant: TSchema): unknown {
  if (!KindGuard.IsObject(variant)) return undefined;
  const t = variant.properties.type;
  return t !== undefined && KindGuard.IsLiteral(t) ? t.const : undefined;
}

function makeChooser(root: unknown): VariantChooser {
  const choose: VariantChooser = (path, value, variants) => {
    const discriminants: unknown[] = variants.map(discriminant);
    if (!discriminants.includes(undefined)) {
      const i = isRecord(value) ? discriminants.indexOf(value.type) : -1;
      if (i >= 0) return variants[i];
      // Only the `type` is wrong: say so, not every key of every variant.
      return Type.Object({
        type: Type.Union(
          CONNECTION_TYPES.map((t) => Type.Literal(t)),
          { description: 'the connection type' },
        ),
      });
    }
    const tag = TAG_PATH.exec(path);
    if (tag !== null) {
      const type = connectionTypeOf(root, Number(tag[1]));
      if (type !== undefined) return PROTOCOL_SCHEMAS[type].tag;
    }
    let best: TSchema | undefined;
    let fewest = Number.POSITIVE_INFINITY;
    for (const v of variants) {
      const n = schemaIssues(v, withDefaults(v, value, path, choose), path, choose).length;
      if (n < fewest) {
        best = v;
        fewest = n;
      }
    }
    return best;
  };
  return choose;
}

/** Fills missing properties that have a `default`, following the chosen union variants. */
function withDefaults(schema: TSchema, value: unknown, path: string, choose: VariantChooser): unknown {
  if (KindGuard.IsObject(schema) && isRecord(value)) {
    const out: Record<string, unknown> = { ...value };
    for (const [k, s] of Object.entries(schema.properties)) {
      if (out[k] === undefined && s.default !== undefined) out[k] = structuredClone(s.default as object);
      if (out[k] !== undefined) out[k] = withDefaults(s, out[k], `${path}/${k}`, choose);
    }
    return out;
  }
  if (KindGuard.IsArray(schema) && Array.isArray(value)) {
    return value.map((v, i) => withDefaults(schema.items, v, `${path}/${i}`, choose));
  }
  if (KindGuard.IsUnion(schema) && isRecord(value)) {
    const v = choose(path, value, schema.anyOf);
    return v === undefined ? value : withDefaults(v, value, path, choose);
  }
  return value;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/** Sorts issues into file order: by top-level section, then by list index; stable. */
function inFileOrder(issues: ConfigIssue[], root: Record<string, unknown>): ConfigIssue[] {
  const sections = Object.keys(root);
  const key = (path: string): number[] => {
    const [top = '', ...rest] = path.split('/').slice(1);
    const section = sections.indexOf(top);
    return [section < 0 ? sections.length : section, ...rest.filter((p) => /^\d+$/.test(p)).map(Number)];
  };
  const compare = (a: number[], b: number[]): number => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  };
  return issues
    .map((issue, i) => ({ issue, i, k: key(issue.path) }))
    .sort((a, b) => compare(a.k, b.k) || a.i - b.i)
    .map((x) => x.issue);
}

/**
 * Validates a config object (as parsed from YAML, or built by code) and returns it with
 * defaults filled in, deeply frozen. Throws ConfigError listing every problem.
 */
export function validateGatewayConfig(obj: unknown, fileName = '<config>'): GatewayConfig {
  if (!isRecord(obj)) {
    throw new ConfigError(fileName, [
      { path: '', message: 'the config is not a mapping', fix: 'start the file with `gateway:`, `mqtt:`, …' },
    ]);
  }
  let copy: unknown;
  try {
    copy = structuredClone(obj);
  } catch (err) {
    throw new ConfigError(
      fileName,
      [{ path: '', message: 'the config holds values that are not data', fix: 'use plain objects' }],
      { cause: err },
    );
  }
  const choose = makeChooser(copy);
  const filled = withDefaults(GatewayConfigSchema, copy, '', choose);
  const issues = [...schemaIssues(GatewayConfigSchema, filled, '', choose), ...crossIssues(filled)];
  if (issues.length > 0) {
    throw new ConfigError(fileName, inFileOrder(issues, obj));
  }
  // The schema guarantees the shape; Value.Check is the belt to those braces.
  if (!Value.Check(GatewayConfigSchema, filled)) throw new ConfigError(fileName, []);
  // A fresh copy: the defaults filled in above gave every tag object a hidden class of its own
  // (V8), which a 100,000-tag gateway pays for in memory (docs/bench.md, "A big gateway stays lean").
  return deepFreeze(structuredClone(filled) as GatewayConfig);
}
