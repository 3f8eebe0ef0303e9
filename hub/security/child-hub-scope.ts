/**
 * What a `child-hub` token may report (access.ts): its hub id, and the regions and enterprise
 * codes whose enterprises it speaks for. The token store checks these when the token is made;
 * hub/stats/child-report.ts checks every report against them.
 */
import { invalidIdReason } from '../../protocol/index.js';

export interface ChildHubScope {
  /** The child's `hostId`: the only hub id its reports may carry. */
  readonly hubId: string;
  /** Enterprises in these regions may be reported. */
  readonly regions: readonly string[];
  /** These enterprise codes may be reported, whatever their region. */
  readonly enterprises: readonly string[];
}

export const HUB_ID_MAX = 64;
/** As the registry's enterprise codes (hub/registry/schemas.ts). */
export const ENTERPRISE_CODE_MAX = 200;

/**
 * Control, format (bidi overrides and isolates, zero-width spaces and joiners, the BOM) and
 * line/paragraph separators: invisible or reordering characters that let two different
 * strings look alike on a page or in a spreadsheet.
 */
const UNSEEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** At most 40 characters of `text` with its unseen characters written out (U+202E), for a message. */
export function shown(text: string): string {
  const cut = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return cut.replace(
    new RegExp(UNSEEN.source, 'gu'),
    (c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`,
  );
}

/** Why `text` cannot be shown as a name; undefined when it can. */
export function unsafeTextReason(text: string, maxLength: number): string | undefined {
  if (text.length > maxLength) return `is longer than ${maxLength} characters`;
  const m = UNSEEN.exec(text);
  if (m !== null) {
    const cp = m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return `contains U+${cp}, a control, bidi or zero-width character`;
  }
  return undefined;
}

/** Why `id` is no usable identifier (a Sparkplug id, short, nothing unseen); undefined when it is. */
export function idReason(id: string, maxLength: number): string | undefined {
  const r = invalidIdReason(id);
  if (r !== undefined) return r;
  const u = unsafeTextReason(id, maxLength);
  return u === undefined ? undefined : `"${shown(id)}" ${u}`;
}
