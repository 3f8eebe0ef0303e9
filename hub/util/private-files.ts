/**
 * Files only the hub's own user may read: the data directory is made 0700 and the databases,
 * tokens and keys in it 0600 (docs/security.md). Modes are given where each file is created,
 * never through the process umask, which belongs to whoever embeds the hub.
 */
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Bits a private file may not have: any for others, and group write or execute. Group read
 * (0640) is left alone, so that an operator may grant it to a backup or service group.
 */
const LOOSE_FILE_BITS = 0o137;

/**
 * The hub's own files in its data directory (the databases, their WAL and shared memory, the
 * demo's token and web user's password).
 */
const HUB_FILE = /^(?:[^/]+\.db(?:-wal|-shm|-journal)?|admin-token|admin-password)$/;

/** Creates `dir` (and missing parents) 0700; an existing directory is left as it is. Returns whether it existed. */
export function ensurePrivateDir(dir: string): boolean {
  const existed = isDirectory(dir);
  if (!existed) mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  return existed;
}

/** Creates an empty file 0600 unless it exists (SQLite then gives its -wal and -shm the same mode). */
export function createPrivateFile(path: string): void {
  // 'a' creates without truncating: a file made by someone else in between is kept as it is.
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
}

/**
 * Makes a file private when it exists: one that others may read becomes owner-only (0644 and
 * 0664 become 0600, as an umask left them); one open to its group only keeps group read, which
 * an operator grants on purpose (0660 becomes 0640, 0640 stays). Returns the modes before and
 * after when it changed them.
 */
export function tightenFile(path: string): { from: number; to: number } | undefined {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if ((mode & LOOSE_FILE_BITS) === 0) return undefined;
  const to = (mode & 0o007) !== 0 ? mode & 0o600 : mode & ~LOOSE_FILE_BITS & 0o777;
  chmodSync(path, to);
  return { from: mode, to };
}

const octal = (mode: number): string => `0${mode.toString(8).padStart(3, '0')}`;

/**
 * Prepares the hub's data directory: made 0700 when missing; when it exists with group or
 * other bits a warning names it and the fix (the hub does not take rights an operator gave).
 * The hub's own files in it (databases, WAL, tokens) are made private (tightenFile), each
 * logged.
 */
export function secureDataDir(dir: string, log: Logger): void {
  if (ensurePrivateDir(dir)) {
    const mode = statSync(dir).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      log.warn(
        { dataDir: dir, mode: octal(mode) },
        `the data directory is open to other users (mode ${octal(mode)}); run: chmod 700 ${dir} (or 750 with a service group)`,
      );
    }
  }
  for (const name of readdirSync(dir)) {
    if (!HUB_FILE.test(name)) continue;
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const changed = tightenFile(path);
    if (changed !== undefined) {
      log.warn(
        { file: path, from: octal(changed.from), to: octal(changed.to) },
        'a hub file was readable by other users; its mode is tightened',
      );
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
