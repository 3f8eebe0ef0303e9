/**
 * Turns TypeBox validation errors into issues that name the JSON path and the fix.
 * Unions are resolved to the one variant the user most likely meant (by its `type`, by the
 * machine's connection, or by the fewest errors) so the errors are about that variant,
 * not "expected union value".
 */
import { KindGuard, type TSchema } from '@sinclair/typebox';
import { Value, type ValueError, ValueErrorType } from '@sinclair/typebox/value';
import { didYouMean } from './suggest.js';

export interface ConfigIssue {
  /** JSON pointer into the config, e.g. /machines/3/tags/0/address ("" = the whole file). */
  readonly path: string;
  readonly message: string;
  /** What to write instead. */
  readonly fix: string;
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

function describe(e: ValueError, path: string): ConfigIssue {
  const s = e.schema;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const key = lastKey(path);
      // For an unknown key TypeBox reports the object's own schema.
      const known = KindGuard.IsObject(s) ? Object.keys(s.properties) : [];
      return {
        path,
        message: `unknown key "${key}"`,
        fix: `${didYouMean(key, known)}valid keys here: ${known.join(', ')}`,
      };
    }
    case ValueErrorType.ObjectRequiredProperty:
      return { path, message: `missing required key "${lastKey(path)}"`, fix: `add it: ${expected(s)}` };
    case ValueErrorType.Integer:
    case ValueErrorType.Number:
    case ValueErrorType.String:
    case ValueErrorType.Boolean:
    case ValueErrorType.Array:
    case ValueErrorType.Object:
      return { path, message: `expected ${typeWord(s)}, got ${show(e.value)}`, fix: `write ${expected(s)}` };
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerExclusiveMinimum:
    case ValueErrorType.NumberExclusiveMinimum:
      return {
        path,
        message: `${show(e.value)} is out of range`,
        fix: `use a value ${range(s)}: ${expected(s)}`,
      };
    case ValueErrorType.StringPattern:
      return { path, message: `${show(e.value)} is not valid here`, fix: `write ${expected(s)}` };
    case ValueErrorType.StringMinLength:
      return { path, message: 'is empty', fix: `write ${expected(s)}` };
    case ValueErrorType.Literal:
      return { path, message: `${show(e.value)} is not allowed here`, fix: `write ${show(s.const)}` };
    default:
      return { path, message: e.message, fix: `write ${expected(s)}` };
  }
}

/** All issues of `value` against `schema`; `base` is the JSON path of `value` in the file. */
export function schemaIssues(
  schema: TSchema,
  value: unknown,
  base: string,
  choose: VariantChooser,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    const path = base + e.path;
    if (seen.has(path)) continue;
    seen.add(path);
    if (e.type === ValueErrorType.Union) {
      const options = literalValues(e.schema);
      if (options !== undefined) {
        const what = typeof e.schema.description === 'string' ? ` (${e.schema.description})` : '';
        issues.push({
          path,
          message: `${show(e.value)} is not a valid value${what}`,
          fix: `${typeof e.value === 'string' ? didYouMean(e.value, options) : ''}use one of: ${options.join(', ')}`,
        });
        continue;
      }
      const variant = choose(path, e.value, (e.schema as TSchema & { anyOf: TSchema[] }).anyOf);
      if (variant !== undefined) {
        issues.push(...schemaIssues(variant, e.value, path, choose));
        continue;
      }
      issues.push({ path, message: `${show(e.value)} does not match`, fix: `write ${expected(e.schema)}` });
      continue;
    }
    issues.push(describe(e, path));
  }
  return issues;
}
