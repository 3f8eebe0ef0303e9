/**
 * What a name from the field may hold: Sparkplug ids (group, edge node, device, host) and
 * metric names end up in the registry, in logs, on the page and in the bureau's exports. One
 * with a control character, a bidirectional override or an invisible character can pass for
 * another (`E001` and `E001\u200B`), or turn a log line or a CSV cell around; an over-long one
 * is never a real machine. Both are refused wherever a name enters (topic.ts, the hub's host,
 * gateway and hub configuration).
 */

/** The longest group, edge node, device or host id, in characters (code points). */
export const MAX_ID_LENGTH = 64;
/** The longest metric name, in characters (code points); metric names hold `/` folders. */
export const MAX_METRIC_NAME_LENGTH = 256;

/**
 * C0 and C1 controls and DEL; the bidirectional marks and overrides (U+061C, U+200E/F,
 * U+202A–U+202E, U+2066–U+2069); zero-width and invisible characters (U+00AD, U+180E,
 * U+200B–U+200D, U+2060–U+2064, U+FEFF); the line and paragraph separators U+2028/U+2029.
 */
const UNSAFE_ALL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
const UNSAFE = new RegExp(UNSAFE_ALL.source);

function codePoint(c: string): string {
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

function kindOf(c: string): string {
  const n = c.codePointAt(0) ?? 0;
  if (n < 0x20 || (n >= 0x7f && n <= 0x9f)) return 'a control character';
  if (BIDI.test(c)) return 'a bidirectional control character';
  if (n === 0x2028 || n === 0x2029) return 'a line separator';
  return 'an invisible character';
}

/** Counts code points up to `max + 1` only, so a megabyte of text costs no more than a short one. */
function longerThan(s: string, max: number): boolean {
  if (s.length <= max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return true;
  return false;
}

/**
 * `s` with every unsafe character written as `\u{…}` and cut to `max` characters: safe to put
 * in a log line or an error message.
 */
export function printableName(s: string, max = 80): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return cut.replace(UNSAFE_ALL, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
}

/**
 * Why `s` cannot be a name of at most `max` characters (its unsafe characters, its length),
 * or undefined. The reason names the character by code point, never by echoing it.
 */
export function unsafeNameReason(s: string, max: number): string | undefined {
  const unsafe = UNSAFE.exec(s);
  if (unsafe !== null) {
    const c = unsafe[0];
    // Kept as it always read for C0 controls (configs and tests match "control character").
    return `"${printableName(s)}" contains ${kindOf(c)} (${codePoint(c)})`;
  }
  if (longerThan(s, max)) return `is longer than ${max} characters (${printableName(s, 24)})`;
  return undefined;
}

/** Why `name` cannot be a metric name, or undefined when it can. */
export function invalidMetricNameReason(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  return unsafeNameReason(name, MAX_METRIC_NAME_LENGTH);
}
