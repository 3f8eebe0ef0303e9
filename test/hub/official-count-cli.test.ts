/**
 * `wanji machine list|confirm|retire|merge` on a running hub's data dir (as `wanji token`
 * works): the change is in the registry file, so the hub's statistics follow at once;
 * every change and refusal is audited as the CLI user.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMachineCommand } from '../../cli/machine.js';
import { AuditLog } from '../../hub/security/audit.js';
import { runCommand } from '../support/cli-io.js';
import { apiToken, cncBirth, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

const machine = (args: string[]) => runCommand(runMachineCommand, args);

interface Counted {
  code: string;
  machines: number;
  networked: number;
  networkedMeasured: number;
  exceedsLedger: boolean;
}

describe('wanji machine', () => {
  const dir = tempDir();
  const hub = testHub(dir.path);
  const node = new TestEdgeNode('E1', 'gw');
  const d = ['-d', dir.path];

  const enterprise = async (): Promise<Counted> => {
    const r = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/statistics`, {
      headers: apiToken(hub.registry, 'bureau'),
    });
    const s = (await r.json()) as { byEnterprise: Counted[] };
    return s.byEnterprise.find((e) => e.code === 'E1')!;
  };

  beforeAll(async () => {
    await hub.start();
    hub.registry.upsertEnterprise(
      {
        code: 'E1',
        name: 'E1',
        regionCode: 'yiwu',
        industryCode: 'nev',
        backbone: false,
        ledger: { productionEquipment: 2, ncEquipment: 2, robots: 0 },
      },
      'test',
    );
    await node.connect(hub.mqttUrl);
    await node.nbirth();
    for (const id of ['m1', 'm2', 'm3']) await node.dbirth(id, cncBirth(Date.now()));
    await waitFor(async () => {
      await hub.flush();
      return hub.registry.countMachines({ enterprise: 'E1' }) === 3;
    }, 'three machines');
  });
  afterAll(async () => {
    await node.close();
    await hub.close();
    dir.remove();
  });

  it('lists the machines with their status', async () => {
    expect(await enterprise()).toMatchObject({ networked: 2, networkedMeasured: 3, exceedsLedger: true });
    const r = await machine(['list', ...d]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ENTERPRISE\s+MACHINE\s+STATUS/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['E1', 'm1', 'unconfirmed'],
      ['E1', 'm2', 'unconfirmed'],
      ['E1', 'm3', 'unconfirmed'],
    ]);
  });

  it('retires a machine: the running hub stops counting it; the change is audited as the CLI user', async () => {
    const r = await machine(['retire', 'E1', 'm3', '--reason', 'sold', ...d]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe('E1/m3 is now retired\n');
    expect(await enterprise()).toMatchObject({
      machines: 2,
      networked: 2,
      networkedMeasured: 2,
      exceedsLedger: false,
    });
    expect(new AuditLog(hub.registry.database).list({ action: 'machine.retire' })[0]).toMatchObject({
      actor: `cli:${userInfo().username}`,
      source: 'cli',
      target: 'E1/m3',
      outcome: 'ok',
      detail: { reason: 'sold', from: 'unconfirmed', to: 'retired' },
    });
    expect((await machine(['retire', 'E1', 'm3', ...d])).out).toBe('E1/m3 was already retired\n');
    const listed = await machine(['list', '--status', 'retired', ...d]);
    expect(listed.out).toMatch(/E1\s+m3\s+retired/);
    expect(listed.out).not.toMatch(/m1/);
  });

  it('merges a duplicate into another machine, and confirms a retired one back', async () => {
    const m = await machine(['merge', 'E1', 'm2', '--into', 'm1', ...d]);
    expect(m).toMatchObject({ code: 0, out: 'E1/m2 is now retired (merged into m1)\n' });
    expect(hub.registry.machine('E1', 'm2')).toMatchObject({ status: 'retired', mergedInto: 'm1' });
    expect(await enterprise()).toMatchObject({ networked: 1, networkedMeasured: 1 });
    const c = await machine(['confirm', 'E1', 'm3', ...d]);
    expect(c).toMatchObject({ code: 0, out: 'E1/m3 is now confirmed\n' });
    expect(await enterprise()).toMatchObject({ networked: 2, networkedMeasured: 2 });
    expect(new AuditLog(hub.registry.database).list({ action: 'machine.merge' })[0]).toMatchObject({
      target: 'E1/m2',
      detail: { into: 'm1' },
    });
  });

  it('refuses unknown machines and impossible merges (exit 1, audited) and bad usage (exit 2)', async () => {
    const log = new AuditLog(hub.registry.database);
    const refused = () => log.list({ limit: 1_000 }).filter((e) => e.outcome === 'refused').length;
    const before = refused();
    const unknown = await machine(['confirm', 'E1', 'nope', ...d]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/no machine "nope" in enterprise "E1"/);
    const self = await machine(['merge', 'E1', 'm1', '--into', 'm1', ...d]);
    expect(self.code).toBe(1);
    expect(self.err).toMatch(/cannot be merged into itself/);
    const intoRetired = await machine(['merge', 'E1', 'm1', '--into', 'm2', ...d]);
    expect(intoRetired.code).toBe(1);
    expect(intoRetired.err).toMatch(/"m2" is retired \(merged into "m1"\)/);
    expect(refused()).toBe(before + 3);
    expect(hub.registry.machine('E1', 'm1')?.status).toBe('unconfirmed');

    for (const args of [
      ['merge', 'E1', 'm1', ...d],
      ['retire', 'E1', ...d],
      ['list', '--status', 'gone', ...d],
      ['retire', 'E1', 'm1', '--into', 'm2', ...d],
      ['scrap', 'E1', 'm1', ...d],
      ['retire', 'E1', 'm1', '--colour', 'red', ...d],
    ]) {
      const r = await machine(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain('Usage: wanji machine');
    }
    expect((await machine(['--help'])).code).toBe(0);
    const none = await machine(['list', '-d', join(dir.path, 'elsewhere')]);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no hub registry at/);
  });
});
