/**
 * Issue 9: "the exceedsLedger anomaly becomes visible wherever the rate is shown". The page at
 * `/` showed the capped rates but not that machines were measured beyond the ledgers. Its
 * served script is run in a small DOM stand-in (elements from the served HTML, textContent
 * only: innerHTML throws) against the real `/api/v1/stats` of a real hub whose enterprise has
 * more machines than it declared: the networked card says how many are beyond the ledgers,
 * the cards and the rows of its region and industry carry a mark, the others do not; after
 * the invented machines are retired the marks are gone. Names are never read as HTML.
 */
import { createHash } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { apiToken, silentLogger, tempDir } from './helpers.js';

const MIN = 60_000;
const MARK = '⚠';

/** Just enough of a DOM element for the page's script; writing HTML into it throws. */
class FakeElement {
  children: FakeElement[] = [];
  className = '';
  title = '';
  value = '';
  hidden: boolean;
  style: Record<string, string> = {};
  #text = '';
  constructor(
    readonly tagName: string,
    hidden = false,
  ) {
    this.hidden = hidden;
  }
  get textContent(): string {
    return this.#text + this.children.map((c) => c.textContent).join('');
  }
  set textContent(v: string) {
    this.#text = String(v);
    this.children = [];
  }
  set innerHTML(_v: string) {
    throw new Error('the page wrote HTML (innerHTML)');
  }
  set outerHTML(_v: string) {
    throw new Error('the page wrote HTML (outerHTML)');
  }
  insertAdjacentHTML(): void {
    throw new Error('the page wrote HTML (insertAdjacentHTML)');
  }
  appendChild(c: FakeElement): FakeElement {
    this.children.push(c);
    return c;
  }
  replaceChildren(...c: FakeElement[]): void {
    this.#text = '';
    this.children = [...c];
  }
  insertRow(): FakeElement {
    return this.appendChild(new FakeElement('tr'));
  }
  insertCell(): FakeElement {
    return this.appendChild(new FakeElement('td'));
  }
  addEventListener(): void {}
}

const between = (html: string, tag: string): string[] =>
  [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);

/**
 * Runs the served page (its HTML's elements, its one script) with `token` in the address
 * fragment; `/api/v1/stats` answers `stats`. Resolves when the script has rendered it.
 */
async function render(html: string, token: string, stats: unknown): Promise<Map<string, FakeElement>> {
  const elements = new Map<string, FakeElement>();
  for (const m of html.matchAll(/<(\w+)([^>]*?)\sid="([^"]+)"([^>]*)>/g)) {
    elements.set(m[3]!, new FakeElement(m[1]!, /\shidden(\s|$)/.test(`${m[2]} ${m[4]}`)));
  }
  const storage = new Map<string, string>();
  let answered!: () => void;
  const done = new Promise<void>((resolve) => {
    answered = resolve;
  });
  runInNewContext(between(html, 'script')[0]!, {
    location: { pathname: '/', search: '', hash: `#token=${encodeURIComponent(token)}` },
    history: { replaceState: () => undefined },
    sessionStorage: {
      getItem: (k: string) => storage.get(k) ?? null,
      setItem: (k: string, v: string) => storage.set(k, v),
      removeItem: (k: string) => storage.delete(k),
    },
    document: {
      getElementById: (id: string) => elements.get(id) ?? null,
      createElement: (tag: string) => new FakeElement(tag),
    },
    fetch: (url: string) => {
      expect(url).toBe('/api/v1/stats');
      return Promise.resolve({
        status: 200,
        ok: true,
        json: () => {
          // The script renders in the next step of its promise chain.
          setTimeout(answered, 0);
          return Promise.resolve(stats);
        },
      });
    },
    setInterval: () => 0,
  });
  await done;
  await new Promise((r) => setTimeout(r, 0));
  // A failure while rendering is caught by the page and shown instead of the time.
  expect(elements.get('status')!.textContent).toMatch(/^更新于 Updated /);
  return elements;
}

interface Group {
  code: string;
  nameZh: string;
  nameEn: string;
  beyondLedger: number;
  enterprisesExceedingLedger: number;
}
interface Stats {
  networked: number;
  networkedMeasured: number;
  networkedUnconfirmed: number;
  beyondLedger: number;
  enterprisesExceedingLedger: number;
  byRegion: Group[];
  byIndustry: Group[];
}

/** The table's rows after its header, by the text of their first cell. */
function rows(table: FakeElement): Map<string, FakeElement> {
  return new Map(table.children.slice(1).map((tr) => [tr.children[0]!.textContent, tr]));
}
const header = (table: FakeElement) => table.children[0]!.children.map((th) => th.textContent);
const cellOf = (table: FakeElement, row: FakeElement, column: string) =>
  row.children[header(table).indexOf(column)]!;

describe('the dashboard shows the machines beyond the ledgers wherever it shows a rate', () => {
  const dir = tempDir();
  const hub = new Hub({ dataDir: dir.path, mqtt: { port: 0 }, http: { port: 0 }, logger: silentLogger() });
  let base: string;
  let bureau: string;
  let html: string;

  const stats = async (): Promise<Stats> => {
    const r = await fetch(`${base}/api/v1/stats`, { headers: { authorization: `Bearer ${bureau}` } });
    expect(r.status).toBe(200);
    return (await r.json()) as Stats;
  };

  beforeAll(async () => {
    await hub.start();
    base = `http://127.0.0.1:${hub.httpPort}`;
    bureau = apiToken(hub.registry, 'bureau').authorization.replace(/^Bearer /, '');
    const declare = (code: string, regionCode: string, industryCode: string) =>
      hub.registry.upsertEnterprise(
        {
          code,
          name: `${code} 公司`,
          regionCode,
          industryCode,
          backbone: false,
          ledger: { productionEquipment: 4, ncEquipment: 2, robots: 0 },
        },
        'test',
      );
    declare('acme', 'yiwu', 'hardware');
    declare('beta', 'yongkang', 'nev');
    // acme: 12 networked machines against 4 declared (8 invented); beta: 2 of 4.
    const now = Date.now();
    const machines: [string, string][] = [
      ...Array.from({ length: 12 }, (_, i): [string, string] => ['acme', `m${i}`]),
      ['beta', 'b0'],
      ['beta', 'b1'],
    ];
    hub.registry.applyIngest({
      events: [
        ...['acme', 'beta'].map((e) => ({
          type: 'nodeBirth' as const,
          group: e,
          edgeNode: 'gw',
          bdSeq: 0,
          at: now - 10 * MIN,
        })),
        ...machines.map(([e, id]) => ({
          type: 'deviceBirth' as const,
          group: e,
          edgeNode: 'gw',
          device: id,
          at: now - 10 * MIN,
          properties: { kind: 'cnc', nc: false },
        })),
      ],
      devices: machines.map(([e, id]) => ({
        enterprise: e,
        machine: id,
        gateway: 'gw',
        seenAt: now - MIN,
        sampleAt: now - MIN,
        state: 'running',
        stateAt: now - MIN,
      })),
      gateways: [],
    });
    const page = await fetch(`${base}/plain`);
    expect(page.status).toBe(200);
    html = await page.text();
    // The script that runs here is the one the page's CSP allows.
    const script = between(html, 'script')[0]!;
    const hash = `'sha256-${createHash('sha256').update(script).digest('base64')}'`;
    expect(page.headers.get('content-security-policy')).toContain(`script-src ${hash};`);
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  it('an enterprise beyond its ledger: a line under the networked card, marks on the cards and on its rows only', async () => {
    const s = await stats();
    expect(s).toMatchObject({ networked: 6, beyondLedger: 8, enterprisesExceedingLedger: 1 });
    const el = await render(html, bureau, s);

    const beyond = el.get('beyond')!;
    expect(beyond.hidden).toBe(false);
    expect(beyond.textContent).toBe(
      `${MARK} 8 台超出台账，不计入 machines beyond the ledgers, not counted · ` +
        `1 家企业超出台账 enterprises exceed their ledger · ${s.networkedUnconfirmed} 台未确认 unconfirmed ` +
        `(监测 measured ${s.networkedMeasured})`,
    );
    for (const id of ['networkedMark', 'networkingRateMark']) {
      expect(el.get(id)!.hidden, id).toBe(false);
      expect(el.get(id)!.textContent, id).toBe(MARK);
      expect(el.get(id)!.children[0]!.title, id).toMatch(/not counted/);
    }
    expect(el.get('networked')!.textContent).toBe('6');

    for (const [id, marked, clean] of [
      ['byRegion', 'yiwu', 'yongkang'],
      ['byIndustry', 'hardware', 'nev'],
    ] as const) {
      const table = el.get(id)!;
      expect(header(table)).toContain('超出台账 Beyond the ledgers');
      const groups = id === 'byRegion' ? s.byRegion : s.byIndustry;
      const name = (code: string) => {
        const g = groups.find((x) => x.code === code)!;
        return `${g.nameZh} ${g.nameEn}`;
      };
      const byName = rows(table);
      expect(byName.size).toBe(groups.length);
      const bad = byName.get(`${name(marked)}${MARK}`);
      expect(bad, `${id} ${marked} marked`).toBeDefined();
      expect(bad!.className).toBe('warn');
      expect(cellOf(table, bad!, '超出台账 Beyond the ledgers').textContent).toBe(
        `${MARK} 1 家企业 enterprises · 8 台未计入 not counted`,
      );
      expect(cellOf(table, bad!, '设备联网率 Networking rate').textContent).toBe(`100.0 %${MARK}`);
      const good = byName.get(name(clean));
      expect(good, `${id} ${clean} not marked`).toBeDefined();
      expect(good!.className).toBe('');
      expect(good!.textContent).not.toContain(MARK);
      // Only the group with the enterprise beyond its ledger is marked.
      expect([...byName.values()].filter((r) => r.textContent.includes(MARK))).toEqual([bad]);
    }
  });

  it('names from the reply are text, never HTML', async () => {
    const s = await stats();
    const hostile = '<img src=x onerror=alert(1)>';
    const yiwu = s.byRegion.findIndex((g) => g.code === 'yiwu');
    s.byRegion[yiwu] = { ...s.byRegion[yiwu]!, nameZh: hostile };
    const table = (await render(html, bureau, s)).get('byRegion')!;
    const row = table.children.slice(1)[yiwu]!;
    expect(row.children[0]!.textContent.startsWith(`${hostile} `)).toBe(true);
    expect(row.children.flatMap((c) => c.children.map((x) => x.tagName))).toEqual(['span', 'span', 'span']);
  });

  it('once the invented machines are retired, no mark and no line', async () => {
    const r = await fetch(`${base}/api/v1/machines/acme/retire`, {
      method: 'POST',
      headers: { ...apiToken(hub.registry, 'operator'), 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'unconfirmed' }),
    });
    expect(r.status).toBe(200);
    // The real four, confirmed again after a site visit.
    for (let i = 0; i < 4; i++) hub.registry.confirmMachine('acme', `m${i}`, { actor: 'cli:test' });
    const s = await stats();
    expect(s).toMatchObject({ beyondLedger: 0, enterprisesExceedingLedger: 0 });
    const el = await render(html, bureau, s);
    expect(el.get('beyond')!.hidden).toBe(true);
    expect(el.get('beyond')!.textContent).toBe('');
    expect(el.get('networkedMark')!.hidden).toBe(true);
    expect(el.get('networkingRateMark')!.hidden).toBe(true);
    for (const id of ['byRegion', 'byIndustry']) {
      expect(el.get(id)!.textContent, id).not.toContain(MARK);
    }
    expect(el.get('networked')!.textContent).toBe('6');
  });
});
