/**
 * Issue 11: the journal is one subsystem in one folder behind one entry, and it took its record
 * type from the sampler. These pin the shape: the journal's files import only the protocol, the
 * gateway's config and clock-free node/pino modules and each other; everything outside the
 * folder imports `gateway/journal/index.js` and nothing deeper.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const JOURNAL = join(ROOT, 'gateway/journal');

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]!);
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('gateway/journal/', () => {
  it('depends on the protocol, the config and itself, never on the sampler or the MQTT side', () => {
    const allowed = [/^node:/, /^pino$/, /^\.\.\/\.\.\/protocol\//, /^\.\.\/config\//, /^\.\/[a-z-]+\.js$/];
    const wrong: string[] = [];
    for (const file of tsFiles(JOURNAL)) {
      for (const spec of importsOf(file)) {
        if (!allowed.some((re) => re.test(spec))) wrong.push(`${relative(ROOT, file)} imports ${spec}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('is imported from outside only through its index.ts', () => {
    const wrong: string[] = [];
    for (const top of ['gateway', 'cli', 'bench', 'hub', 'test', 'simulators']) {
      for (const file of tsFiles(join(ROOT, top))) {
        if (file.startsWith(`${JOURNAL}/`)) continue;
        for (const spec of importsOf(file)) {
          if (!spec.startsWith('.')) continue;
          const target = resolve(file, '..', spec);
          if (target.startsWith(`${JOURNAL}/`) && target !== join(JOURNAL, 'index.js')) {
            wrong.push(`${relative(ROOT, file)} imports ${spec}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
