/**
 * docs/architecture.md walks a value through the code file by file, and the README lists the
 * folders: both rot silently when a file moves. Every repository path they cite (`hub/host/acks.ts`,
 * `gateway/journal/`) and every relative Markdown link must exist.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The repository's top-level folders: a cited path starts with one of them. */
const TOP = new Set(
  readdirSync(ROOT, { withFileTypes: true })
    .filter(
      (d) => d.isDirectory() && !d.name.startsWith('.') && d.name !== 'node_modules' && d.name !== 'dist',
    )
    .map((d) => d.name),
);

const PATH = /(?<![\w./<>@-])((?:[\w.-]+\/)+(?:[\w.-]+\.(?:ts|md|js|json|ya?ml|proto))?)(?![\w/-])/g;
const LINK = /\]\(([^)\s]+)\)/g;

/** Repository paths (files and folders) cited in `text`, and relative links of a file in `dir`. */
function citedPaths(text: string, dir: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(PATH)) {
    const path = m[1]!;
    if (TOP.has(path.split('/')[0]!)) out.add(path);
  }
  for (const m of text.matchAll(LINK)) {
    const target = m[1]!.split('#')[0]!;
    if (target === '' || /^[a-z]+:/i.test(target)) continue;
    out.add(normalize(join(dir, target)));
  }
  return [...out].sort();
}

function missingIn(doc: string): { cited: string[]; missing: string[] } {
  const text = readFileSync(join(ROOT, doc), 'utf8');
  const cited = citedPaths(text, dirname(doc));
  return { cited, missing: cited.filter((p) => !existsSync(join(ROOT, p))) };
}

describe('docs/architecture.md and README.md cite files that exist', () => {
  it('docs/architecture.md: every cited path and link exists', () => {
    const { cited, missing } = missingIn('docs/architecture.md');
    // The walk names the drivers, sampler, journal, edge node, host, ingest, store, stats and API.
    expect(cited.length, 'paths found in docs/architecture.md').toBeGreaterThan(30);
    expect(cited).toContain('gateway/sampler.ts');
    expect(cited).toContain('hub/host/acks.ts');
    expect(missing, 'cited in docs/architecture.md but not in the repository: fix the doc').toEqual([]);
  });

  it('README.md: every cited path and link exists', () => {
    const { cited, missing } = missingIn('README.md');
    expect(cited).toContain('docs/architecture.md');
    expect(missing, 'cited in README.md but not in the repository: fix the README').toEqual([]);
  });

  it('reports a moved file', () => {
    const cited = citedPaths(
      'See `hub/host/gone.ts`, [x](nowhere.md), gateway/journal/ and <dir>/state.json.',
      'docs',
    );
    expect(cited).toEqual(['docs/nowhere.md', 'gateway/journal/', 'hub/host/gone.ts']);
    expect(cited.filter((p) => !existsSync(join(ROOT, p)))).toEqual(['docs/nowhere.md', 'hub/host/gone.ts']);
  });
});
