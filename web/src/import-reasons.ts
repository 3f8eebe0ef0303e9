/**
 * An import's refusal reasons in the language chosen: the hub sends each as a code and its
 * parameters beside the English sentence (docs/api.md "Imports"); the words are the
 * `imports.*` messages (web/src/i18n/imports.ts). A code this build does not know is shown
 * in the hub's English.
 */
import { ApiError } from './api';
import { num } from './format';
import { i18n } from './i18n';

export interface Reason {
  readonly code: string;
  readonly params: Readonly<Record<string, string | number>>;
}

/** One reason in the current language; `english` when its code has no words here. */
export function reasonText(r: Reason, english = r.code): string {
  const { t, te } = i18n.global;
  if (!te(`imports.reason.${r.code}`)) return english;
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.params)) {
    const word = k === 'field' ? `imports.field.${v}` : k === 'kind' ? `imports.character.${v}` : undefined;
    params[k] = word !== undefined && te(word) ? t(word) : typeof v === 'number' ? num(v) : String(v);
  }
  return t(`imports.reason.${r.code}`, params);
}

/** A refused row's reasons, in the current language, each once. */
export function rowReasons(row: {
  readonly reasons: readonly string[];
  readonly details?: readonly Reason[];
}): string {
  const details = row.details ?? [];
  if (details.length === 0) return row.reasons.join('; ');
  const sep = i18n.global.t('imports.separator');
  return details.map((d, i) => reasonText(d, row.reasons[i])).join(sep);
}

/** A refused file (or any other error) as a page shows it: the code, then why in words. */
export function refusalText(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  const reasons =
    err.reasons ??
    (err.code === 'WANJI_E_API_UNSUPPORTED_MEDIA_TYPE' ? [{ code: 'notSpreadsheet', params: {} }] : []);
  if (reasons.length === 0) return `${err.code}: ${err.message}`;
  const sep = i18n.global.t('imports.separator');
  return `${err.code}: ${reasons.map((r) => reasonText(r, err.message)).join(sep)}`;
}
