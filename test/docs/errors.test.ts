import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('docs/errors.md', () => {
  it('lists every WANJI_E_* code the code can raise', () => {
    const documented = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
    const codes = new Set<string>();
    for (const dir of ['protocol', 'gateway', 'hub', 'simulators', 'cli']) {
      for (const file of sources(join(root, dir))) {
        // A code ends in a letter or digit; `WANJI_E_API_${…}` templates are prefixes, not codes.
        for (const m of readFileSync(file, 'utf8').matchAll(/WANJI_E_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_$])/g)) {
          codes.add(m[0]);
        }
      }
    }
    expect(codes.size).toBeGreaterThan(20);
    const missing = [...codes].filter((c) => !documented.includes(`\`${c}\``));
    expect(missing, 'add these to docs/errors.md').toEqual([]);
  });
});
