/**
 * The audit log as the admin page pages through it (issue 12): filtered by outcome, and a page
 * at a time with `before=<id>` (entries older than the last one shown), against a started hub.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { AuditLog } from '../../hub/security/audit.js';
import { apiToken, silentLogger, tempDir } from './helpers.js';

interface Entry {
  id: number;
  action: string;
  target?: string;
  outcome: string;
}

describe('audit log filters for the admin page', () => {
  let dir: ReturnType<typeof tempDir>;
  let hub: Hub;
  let base: string;
  let admin: { authorization: string };

  beforeAll(async () => {
    dir = tempDir();
    hub = new Hub({ dataDir: dir.path, mqtt: { port: 0 }, http: { port: 0 }, logger: silentLogger() });
    await hub.start();
    base = `http://127.0.0.1:${hub.httpPort!}`;
    admin = apiToken(hub.registry, 'admin');
    const audit = new AuditLog(hub.registry.database);
    for (let i = 1; i <= 5; i++)
      audit.record({
        actor: 'cli:test',
        action: 'test.step',
        target: `t${i}`,
        outcome: i % 2 === 0 ? 'refused' : 'ok',
      });
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  const list = async (query: string): Promise<Entry[]> => {
    const r = await fetch(`${base}/api/v1/audit?action=test.step&${query}`, { headers: admin });
    expect(r.status).toBe(200);
    return ((await r.json()) as { entries: Entry[] }).entries;
  };

  it('filters by outcome', async () => {
    expect((await list('outcome=refused')).map((e) => e.target)).toEqual(['t4', 't2']);
    expect((await list('outcome=ok')).map((e) => e.target)).toEqual(['t5', 't3', 't1']);
    const bad = await fetch(`${base}/api/v1/audit?outcome=maybe`, { headers: admin });
    expect(bad.status).toBe(400);
  });

  it('pages with before=<id>, newest first, without losing or repeating an entry', async () => {
    const seen: string[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await list(`limit=2${before === undefined ? '' : `&before=${before}`}`);
      if (page.length === 0) break;
      seen.push(...page.map((e) => e.target!));
      before = page.at(-1)!.id;
    }
    expect(seen).toEqual(['t5', 't4', 't3', 't2', 't1']);
  });
});
