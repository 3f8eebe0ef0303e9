/**
 * One config-validation standard for the gateway and the hub: a TypeBox schema and a value give
 * problems that each name the JSON path, what is wrong and the fix. The fix comes from the schema
 * itself: a property's `fix` keyword when it has one, else a sentence built from its
 * `description` and its bounds. Unknown keys and misspelt values get "did you mean" by edit
 * distance. Unions are resolved to the one variant the user most likely meant, so the problems are
 * about that variant, not "expected union value". No I/O.
 */
import { KindGuard, type TSchema } from '@sinclair/typebox';
import { Value, type ValueError, ValueErrorType } from '@sinclair/typebox/value';

export interface ConfigProblem {
  /** JSON pointer into the config, e.g. /machines/3/tags/0/address ("" = the whole file). */
  readonly path: string;
  readonly message: string;
  /** What to write instead. */
  readonly fix: string;
  /** The likely meant key or value, for a misspelt one (the fix says it too). */
  readonly didYouMean?: string;
  /** TypeBox's own wording of the error, when the problem is one TypeBox reported. */
  readonly schemaMessage?: string;
}

/** Picks the union variant meant at `path`; undefined when none can be told apart. */
export type VariantChooser = (
  path: string,
  value: unknown,
  variants: readonly TSchema[],
) => TSchema | undefined;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The candidate closest to `input`, when it is close enough to be a likely misspelling. */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  const lower = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = c.toLowerCase() === lower ? 0 : distance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(input.length / 3));
  return bestDistance <= limit ? best : undefined;
}

/** `did you mean "x"? ` (with its trailing space, to lead a fix), or '' when nothing is close. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const c = closest(input, candidates);
  return c === undefined ? '' : `did you mean "${c}"? `;
}

function literalValues(schema: TSchema): string[] | undefined {
  if (!KindGuard.IsUnion(schema)) return undefined;
  const values: string[] = [];
  for (const v of schema.anyOf) {
    if (!KindGuard.IsLiteral(v)) return undefined;
    values.push(String(v.const));
  }
  return values;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isRecord(v)) return 'a mapping';
  const s = typeof v === 'string' ? `"${v}"` : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

function expected(schema: TSchema): string {
  if (typeof schema.description === 'string') return schema.description;
  if (KindGuard.IsInteger(schema)) return 'an integer';
  if (KindGuard.IsNumber(schema)) return 'a number';
  if (KindGuard.IsString(schema)) return 'a string';
  if (KindGuard.IsBoolean(schema)) return 'true or false';
  if (KindGuard.IsArray(schema)) return 'a list';
  if (KindGuard.IsObject(schema)) return 'a mapping';
  return 'a valid value';
}

function typeWord(schema: TSchema): string {
  if (KindGuard.IsInteger(schema)) return 'an integer';
  if (KindGuard.IsNumber(schema)) return 'a number';
  if (KindGuard.IsString(schema)) return 'a string';
  if (KindGuard.IsBoolean(schema)) return 'true or false';
  if (KindGuard.IsArray(schema)) return 'a list';
  if (KindGuard.IsObject(schema) || KindGuard.IsRecord(schema)) return 'a mapping (key: value)';
  return 'a value';
}

function range(schema: TSchema): string {
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  if (min !== undefined && max !== undefined) return `between ${min} and ${max}`;
  if (min !== undefined) return `at least ${min}`;
  return `at most ${max}`;
}

function lastKey(path: string): string {
  const k = path.slice(path.lastIndexOf('/') + 1);
  return k.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** The schema's own fix (`fix` keyword) for the property at hand, if it states one. */
export function schemaFix(schema: TSchema): string | undefined {
  return typeof schema.fix === 'string' ? schema.fix : undefined;
}

function describe(e: ValueError, path: string): ConfigProblem {
  const s = e.schema;
  const own = schemaFix(s);
  const problem = (message: string, fix: string): ConfigProblem => ({
    path,
    message,
    fix: own ?? fix,
    schemaMessage: e.message,
  });
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const key = lastKey(path);
      // For an unknown key TypeBox reports the object's own schema.
      const known = KindGuard.IsObject(s) ? Object.keys(s.properties) : [];
      const meant = closest(key, known);
      return {
        path,
        message: `unknown key "${key}"`,
        fix: `${didYouMean(key, known)}valid keys here: ${known.join(', ')}`,
        schemaMessage: e.message,
        ...(meant === undefined ? {} : { didYouMean: meant }),
      };
    }
    case ValueErrorType.ObjectRequiredProperty:
      return problem(`missing required key "${lastKey(path)}"`, `add it: ${expected(s)}`);
    case ValueErrorType.Integer:
    case ValueErrorType.Number:
    case ValueErrorType.String:
    case ValueErrorType.Boolean:
    case ValueErrorType.Array:
    case ValueErrorType.Object:
      return problem(`expected ${typeWord(s)}, got ${show(e.value)}`, `write ${expected(s)}`);
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerExclusiveMinimum:
    case ValueErrorType.NumberExclusiveMinimum:
      return problem(`${show(e.value)} is out of range`, `use a value ${range(s)}: ${expected(s)}`);
    case ValueErrorType.StringPattern:
      return problem(`${show(e.value)} is not valid here`, `write ${expected(s)}`);
    case ValueErrorType.StringMinLength:
      return problem('is empty', `write ${expected(s)}`);
    case ValueErrorType.Literal:
      return problem(`${show(e.value)} is not allowed here`, `write ${show(s.const)}`);
    default:
      return problem(e.message, `write ${expected(s)}`);
  }
}

/** Without a better guess: the variant `value` has the fewest problems against. */
export const fewestProblems: VariantChooser = (path, value, variants) => {
  let best: TSchema | undefined;
  let fewest = Number.POSITIVE_INFINITY;
  for (const v of variants) {
    const n = checkSchema(v, value, path, fewestProblems).length;
    if (n < fewest) {
      best = v;
      fewest = n;
    }
  }
  return best;
};

/**
 * Every problem of `value` against `schema`, one per path; `base` is the JSON path of `value` in
 * the file. Defaults are not filled here: fill them first (Value.Default) if the schema has any.
 */
export function checkSchema(
  schema: TSchema,
  value: unknown,
  base = '',
  choose: VariantChooser = fewestProblems,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    const path = base + e.path;
    if (seen.has(path)) continue;
    seen.add(path);
    if (e.type === ValueErrorType.Union) {
      const options = literalValues(e.schema);
      if (options !== undefined) {
        const what = typeof e.schema.description === 'string' ? ` (${e.schema.description})` : '';
        const meant = typeof e.value === 'string' ? closest(e.value, options) : undefined;
        problems.push({
          path,
          message: `${show(e.value)} is not a valid value${what}`,
          fix:
            schemaFix(e.schema) ??
            `${typeof e.value === 'string' ? didYouMean(e.value, options) : ''}use one of: ${options.join(', ')}`,
          ...(meant === undefined ? {} : { didYouMean: meant }),
        });
        continue;
      }
      const variant = choose(path, e.value, (e.schema as TSchema & { anyOf: TSchema[] }).anyOf);
      if (variant !== undefined) {
        problems.push(...checkSchema(variant, e.value, path, choose));
        continue;
      }
      problems.push({
        path,
        message: `${show(e.value)} does not match`,
        fix: schemaFix(e.schema) ?? `write ${expected(e.schema)}`,
      });
      continue;
    }
    problems.push(describe(e, path));
  }
  return problems;
}

/** The schema of the property at a JSON path (through objects and arrays), if the schema has it. */
export function schemaAt(schema: TSchema, path: string): TSchema | undefined {
  let s: TSchema | undefined = schema;
  for (const key of path.split('/').slice(1)) {
    if (s === undefined) return undefined;
    if (KindGuard.IsObject(s)) s = s.properties[key];
    else if (KindGuard.IsArray(s)) s = s.items;
    else return undefined;
  }
  return s;
}

/** One problem on one line, as the hub's HubConfigError lists them: `path: message (fix)`. */
export function problemLine(p: ConfigProblem, prefix = ''): string {
  // TypeBox's "Expected required property" already says what "missing required key" would.
  const restates =
    p.schemaMessage === 'Expected required property' && p.message.startsWith('missing required');
  const what =
    p.schemaMessage === undefined || p.schemaMessage === p.message
      ? p.message
      : restates
        ? p.schemaMessage
        : `${p.schemaMessage}; ${p.message}`;
  return `${prefix}${p.path || '/'}: ${what} (${p.fix})`;
}
