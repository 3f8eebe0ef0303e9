/**
 * The gateway's config problems are the shared standard's (protocol/config-check.ts): each names
 * the JSON path, what is wrong, the fix and, for a misspelling, what was likely meant.
 * `ConfigIssue` is the gateway's view of one: TypeBox's own wording stays out of it.
 */
import type { TSchema } from '@sinclair/typebox';
import { type ConfigProblem, checkSchema, type VariantChooser } from '../../protocol/config-check.js';

export { isRecord, type VariantChooser } from '../../protocol/config-check.js';

export type ConfigIssue = Omit<ConfigProblem, 'schemaMessage'>;

/** All issues of `value` against `schema`; `base` is the JSON path of `value` in the file. */
export function schemaIssues(
  schema: TSchema,
  value: unknown,
  base: string,
  choose: VariantChooser,
): ConfigIssue[] {
  return checkSchema(schema, value, base, choose).map(({ schemaMessage: _, ...issue }) => issue);
}
