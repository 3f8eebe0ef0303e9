import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, isWanjiErrorCode, type WanjiErrorCode } from '../../protocol/errors.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const catalogue = Object.keys(ERROR_CATALOGUE) as WanjiErrorCode[];

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path, ext);
    return path.endsWith(ext) ? [path] : [];
  });
}

/** The codes of docs/errors.md's table: the first cell of each row. */
function tableCodes(): string[] {
  const text = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
  return [...text.matchAll(/^\| `(WANJI_E_[A-Z0-9_]+)` \|/gm)].map((m) => m[1] ?? '');
}

describe('the error catalogue (protocol/errors.ts)', () => {
  it('holds well-formed codes, each with a one-line meaning', () => {
    expect(catalogue.length).toBeGreaterThan(20);
    for (const code of catalogue) {
      expect(code).toMatch(/^WANJI_E_[A-Z0-9_]*[A-Z0-9]$/);
      const meaning = ERROR_CATALOGUE[code];
      expect(meaning.trim(), code).not.toBe('');
      expect(meaning, code).not.toContain('\n');
    }
    expect(isWanjiErrorCode('WANJI_E_CONFIG')).toBe(true);
    expect(isWanjiErrorCode('WANJI_E_NO_SUCH_CODE')).toBe(false);
    expect(isWanjiErrorCode('toString')).toBe(false);
  });

  it('has every code raised somewhere in the code, not only catalogued', () => {
    // A code counts as raised where it is a string literal outside the catalogue, on a line
    // that is not a member of a type union (`| 'WANJI_E_…'` only restricts which codes a class takes).
    const used = new Set<string>();
    for (const dir of ['protocol', 'gateway', 'hub', 'simulators', 'cli']) {
      for (const file of files(join(root, dir), '.ts')) {
        if (relative(root, file) === join('protocol', 'errors.ts')) continue;
        for (const line of readFileSync(file, 'utf8').split('\n')) {
          if (/^\s*\|\s*'WANJI_E_/.test(line)) continue;
          for (const m of line.matchAll(/'(WANJI_E_[A-Z0-9_]+)'/g)) used.add(m[1] ?? '');
        }
      }
    }
    const unused = catalogue.filter((c) => !used.has(c));
    expect(unused, 'raise these somewhere or remove them from the catalogue and docs').toEqual([]);
  });
});

describe('docs/errors.md', () => {
  it('documents every code of the catalogue, once', () => {
    const documented = tableCodes();
    const missing = catalogue.filter((c) => !documented.includes(c));
    expect(missing, 'add these to docs/errors.md').toEqual([]);
    const twice = documented.filter((c, i) => documented.indexOf(c) !== i);
    expect(twice, 'documented more than once in docs/errors.md').toEqual([]);
  });

  it('documents no code the catalogue does not have', () => {
    const unknown = tableCodes().filter((c) => !isWanjiErrorCode(c));
    expect(unknown, 'not in protocol/errors.ts: add them there or remove the rows').toEqual([]);
  });

  it('leaves no other doc naming a code the catalogue does not have', () => {
    const stale: string[] = [];
    for (const file of [...files(join(root, 'docs'), '.md'), join(root, 'README.md')]) {
      // A code ends in a letter or digit; `WANJI_E_STORE_*` names a family by its prefix.
      for (const m of readFileSync(file, 'utf8').matchAll(/WANJI_E_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_])/g)) {
        if (!isWanjiErrorCode(m[0])) stale.push(`${relative(root, file)}: ${m[0]}`);
      }
    }
    expect(stale).toEqual([]);
  });
});
