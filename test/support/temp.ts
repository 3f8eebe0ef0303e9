/** Test fixtures that every suite needs: a temporary directory and a logger that stays quiet. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';

/** A fresh directory under the OS temp dir; `remove()` deletes it and everything in it. */
export function tempDir(prefix = 'wanji-hub-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A silent logger; set WANJI_TEST_LOG=debug to see the logs while a test runs. */
export function silentLogger(): Logger {
  return pino({ level: process.env.WANJI_TEST_LOG ?? 'silent' });
}
