/**
 * Every string of the web app exists in both languages (web/src/i18n/<page>.ts keeps a page's
 * Chinese and English side by side), every page file is merged into the app, and the
 * placeholders of a message agree between the two (a `{count}` in Chinese is a `{count}` in
 * English).
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type Tree = { readonly [k: string]: string | Tree };
interface PageModule {
  readonly [name: string]: { readonly 'zh-CN': Tree; readonly en: Tree };
}

const DIR = new URL('../../web/src/i18n/', import.meta.url);

function leaves(t: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(t)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of leaves(v, key)) out.set(kk, vv);
  }
  return out;
}

const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();

const files = readdirSync(DIR).filter((f) => f.endsWith('.ts') && f !== 'index.ts');

describe('web app strings', () => {
  it('has page message files', () => {
    expect(files.length).toBeGreaterThan(2);
  });

  for (const file of files) {
    it(`${file}: every key in both languages, with the same placeholders, none empty`, async () => {
      const mod = (await import(new URL(file, DIR).href)) as PageModule;
      const pages = Object.values(mod);
      expect(pages).toHaveLength(1);
      const zh = leaves(pages[0]!['zh-CN']);
      const en = leaves(pages[0]!.en);
      expect([...zh.keys()].sort()).toEqual([...en.keys()].sort());
      for (const [key, text] of zh) {
        expect(text.trim(), `${file} zh-CN ${key}`).not.toBe('');
        expect(en.get(key)!.trim(), `${file} en ${key}`).not.toBe('');
        expect(placeholders(en.get(key)!), `${file} ${key}`).toEqual(placeholders(text));
      }
    });
  }

  it('merges every page file into the app, under its own name', async () => {
    const { PAGES } = (await import(new URL('index.ts', DIR).href)) as { PAGES: Record<string, unknown> };
    const exported = await Promise.all(
      files.map(async (f) => Object.keys((await import(new URL(f, DIR).href)) as PageModule)[0]),
    );
    expect(Object.keys(PAGES).sort()).toEqual(exported.sort());
  });
});
