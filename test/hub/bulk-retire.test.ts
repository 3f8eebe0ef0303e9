/**
 * Issue 9: after one gateway credential announced hundreds of invented machines (up to
 * limits.maxDevicesPerGateway a gateway), retiring them one by one was impractical. Against a
 * real hub (a real gateway credential, real MQTT, real HTTP): `POST
 * /api/v1/machines/:enterprise/retire {"status":"unconfirmed"}` and `wanji machine retire E
 * --unconfirmed` retire every unconfirmed machine (of one gateway, when named) in one audited
 * step, never a confirmed one; the figures are back to what is real; a rebirth of those ids
 * does not bring them back; unknown enterprises and gateways are refused 404 (exit 1).
 */
import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMachineCommand } from '../../cli/machine.js';
import { Hub } from '../../hub/hub.js';
import { AuditLog, type AuditRecord } from '../../hub/security/audit.js';
import { runCommand } from '../support/cli-io.js';
import { CredentialedGateway } from './credentialed-gateway.js';
import { apiToken, silentLogger, tempDir, waitFor } from './helpers.js';

interface Counted {
  code: string;
  machines: number;
  networked: number;
  networkedMeasured: number;
  networkedUnconfirmed: number;
  beyondLedger: number;
  exceedsLedger: boolean;
  networkedNc: number;
}
interface Statistics {
  networked: number;
  networkedMeasured: number;
  networkedUnconfirmed: number;
  beyondLedger: number;
  enterprisesExceedingLedger: number;
  byEnterprise: Counted[];
}
interface BulkReply {
  enterprise: string;
  status: string;
  gateway: string | null;
  retired: number;
  ids: string[];
}

const FLOOD = 300;
const OTHER = 20;
const fakes = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
/** SQLite's ORDER BY id for these ASCII ids. */
const byId = (ids: string[]) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('retiring every unconfirmed machine of an enterprise after a flood', () => {
  const dir = tempDir();
  const hub = new Hub({
    dataDir: dir.path,
    mqtt: { port: 0 },
    http: { port: 0 },
    flushIntervalMs: 20,
    logger: silentLogger(),
  });
  const gateways: CredentialedGateway[] = [];
  let base: string;
  let admin: { authorization: string };
  let bureau: { authorization: string };
  let before: Statistics;

  const statistics = async (): Promise<Statistics> => {
    const r = await fetch(`${base}/api/v1/statistics`, { headers: bureau });
    expect(r.status).toBe(200);
    return (await r.json()) as Statistics;
  };
  const victimOf = (s: Statistics) => s.byEnterprise.find((e) => e.code === 'victim')!;
  const bulk = async (enterprise: string, body?: unknown, headers = admin) =>
    await fetch(`${base}/api/v1/machines/${enterprise}/retire`, {
      method: 'POST',
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const count = (status: 'unconfirmed' | 'confirmed' | 'retired', gateway?: string) =>
    hub.registry
      .machines({ enterprise: 'victim', status })
      .filter((m) => gateway === undefined || m.gateway === gateway).length;
  const bulkEntries = (): AuditRecord[] =>
    new AuditLog(hub.registry.database)
      .list({ action: 'machine.retire', limit: 1_000 })
      .filter((e) => e.target === 'victim/*');
  const gateway = async (group: string, node: string): Promise<CredentialedGateway> => {
    const { credential, password } = hub.mqttCredentials.create(
      { group, node },
      { actor: 'cli:test', source: 'cli' },
    );
    const g = new CredentialedGateway(group, node);
    gateways.push(g);
    await g.connect(hub.mqttUrl, credential.username, password);
    await g.nbirth();
    return g;
  };
  const flood = async (node: string, ids: string[]): Promise<CredentialedGateway> => {
    const g = await gateway('victim', node);
    for (const id of ids) await g.dbirth(id, { nc: true });
    await waitFor(
      async () => {
        await hub.flush();
        return (
          hub.registry.machines({ enterprise: 'victim' }).filter((m) => m.gateway === node).length ===
          ids.length
        );
      },
      `${ids.length} invented machines from ${node}`,
      20_000,
    );
    return g;
  };

  beforeAll(async () => {
    await hub.start();
    base = `http://127.0.0.1:${hub.httpPort}`;
    admin = apiToken(hub.registry, 'admin');
    bureau = apiToken(hub.registry, 'bureau');
    const declare = (code: string, regionCode: string, ledger: [number, number, number]) =>
      hub.registry.upsertEnterprise(
        {
          code,
          name: code,
          regionCode,
          industryCode: 'hardware',
          backbone: true,
          ledger: { productionEquipment: ledger[0], ncEquipment: ledger[1], robots: ledger[2] },
        },
        'test',
      );
    declare('victim', 'yongkang', [10, 8, 0]);
    declare('bystander', 'yiwu', [4, 2, 0]);
    const v = await gateway('victim', 'gw-1');
    for (let i = 1; i <= 8; i++) await v.dbirth(`m${i}`, { nc: true });
    const b = await gateway('bystander', 'gw-1');
    await b.dbirth('b1', { nc: true });
    await b.dbirth('b2', { nc: true });
    await waitFor(async () => {
      await hub.flush();
      return (
        hub.registry.countMachines({ enterprise: 'victim' }) === 8 &&
        hub.registry.countMachines({ enterprise: 'bystander' }) === 2
      );
    }, 'the real machines in the registry');
    // After a site visit the operator confirmed the real machines.
    const by = { actor: 'cli:test', source: 'cli' };
    for (let i = 1; i <= 8; i++) hub.registry.confirmMachine('victim', `m${i}`, by);
    for (const id of ['b1', 'b2']) hub.registry.confirmMachine('bystander', id, by);
    before = await statistics();
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await hub.close();
    dir.remove();
  });

  it('before: what is real, all confirmed, nothing beyond the ledger', () => {
    expect(before).toMatchObject({
      networked: 10,
      networkedMeasured: 10,
      networkedUnconfirmed: 0,
      beyondLedger: 0,
      enterprisesExceedingLedger: 0,
    });
    expect(victimOf(before)).toMatchObject({ networked: 8, networkedUnconfirmed: 0, exceedsLedger: false });
  });

  it(`${FLOOD} invented machines of one gateway and ${OTHER} of another, retired by gateway then all at once`, async () => {
    await flood('gw-attacker', fakes('fake', FLOOD));
    await flood('gw-other', fakes('other', OTHER));
    let s = await statistics();
    expect(s).toMatchObject({
      networked: 12,
      networkedMeasured: 10 + FLOOD + OTHER,
      networkedUnconfirmed: FLOOD + OTHER,
      enterprisesExceedingLedger: 1,
    });
    expect(victimOf(s)).toMatchObject({ networked: 10, exceedsLedger: true });

    // Refused, audited, and nothing changed.
    const log = new AuditLog(hub.registry.database);
    const refusedCount = () => log.list({ limit: 1_000 }).filter((e) => e.outcome === 'refused').length;
    const refusals: [string, unknown, { authorization: string }, number, string][] = [
      ['victim', undefined, admin, 400, 'WANJI_E_API_VALIDATION'],
      ['victim', {}, admin, 400, 'WANJI_E_API_VALIDATION'],
      ['victim', { status: 'confirmed' }, admin, 400, 'WANJI_E_API_VALIDATION'],
      ['victim', { status: 'unconfirmed', extra: 1 }, admin, 400, 'WANJI_E_API_VALIDATION'],
      ['victim', { status: 'unconfirmed', gateway: '' }, admin, 400, 'WANJI_E_API_VALIDATION'],
      ['victim', { status: 'unconfirmed', reason: 'x'.repeat(501) }, admin, 400, 'WANJI_E_API_VALIDATION'],
      ['nobody', { status: 'unconfirmed' }, admin, 404, 'WANJI_E_API_NOT_FOUND'],
      [
        'victim',
        { status: 'unconfirmed', gateway: 'gw-none' },
        admin,
        404,
        'WANJI_E_REGISTRY_UNKNOWN_MACHINE',
      ],
      ['victim', { status: 'unconfirmed' }, bureau, 403, 'WANJI_E_API_FORBIDDEN'],
    ];
    for (const [enterprise, body, headers, status, code] of refusals) {
      const what = `${enterprise} ${JSON.stringify(body)}`;
      const n = refusedCount();
      const r = await bulk(enterprise, body, headers);
      expect(r.status, what).toBe(status);
      const json = (await r.json()) as { code: string; message: string };
      expect(json.code, what).toBe(code);
      expect(refusedCount(), `${what} audited`).toBeGreaterThan(n);
    }
    const unknownGateway = await bulk('victim', { status: 'unconfirmed', gateway: 'gw-none' });
    expect(((await unknownGateway.json()) as { message: string }).message).toMatch(
      /no gateway "gw-none" in enterprise "victim"/,
    );
    expect(count('unconfirmed')).toBe(FLOOD + OTHER);
    expect(bulkEntries().filter((e) => e.outcome === 'ok')).toEqual([]);

    // One gateway's machines: the others stay unconfirmed.
    const r = await bulk('victim', {
      status: 'unconfirmed',
      gateway: 'gw-attacker',
      reason: 'flood of 4 Dec',
    });
    expect(r.status).toBe(200);
    const one = (await r.json()) as BulkReply;
    const first100 = byId(fakes('fake', FLOOD)).slice(0, 100);
    expect(one).toEqual({
      enterprise: 'victim',
      status: 'unconfirmed',
      gateway: 'gw-attacker',
      retired: FLOOD,
      ids: first100,
    });
    expect(count('retired', 'gw-attacker')).toBe(FLOOD);
    expect(count('unconfirmed')).toBe(OTHER);
    expect(count('confirmed')).toBe(8);
    s = await statistics();
    expect(victimOf(s)).toMatchObject({
      networked: 10,
      networkedMeasured: 8 + OTHER,
      networkedUnconfirmed: OTHER,
      exceedsLedger: true,
    });
    const [entry] = bulkEntries();
    expect(entry).toMatchObject({
      action: 'machine.retire',
      target: 'victim/*',
      outcome: 'ok',
      detail: {
        bulk: true,
        status: 'unconfirmed',
        gateway: 'gw-attacker',
        count: FLOOD,
        ids: first100,
        from: 'unconfirmed',
        to: 'retired',
        reason: 'flood of 4 Dec',
      },
    });
    expect(entry!.actor).toMatch(/^token:/);
    expect(hub.registry.machine('victim', 'fake-7')).toMatchObject({
      status: 'retired',
      retiredBy: entry!.actor,
    });

    // Then every unconfirmed one: the figures are what they were before the flood.
    const all = (await (await bulk('victim', { status: 'unconfirmed' })).json()) as BulkReply;
    expect(all).toEqual({
      enterprise: 'victim',
      status: 'unconfirmed',
      gateway: null,
      retired: OTHER,
      ids: byId(fakes('other', OTHER)),
    });
    expect(bulkEntries().filter((e) => e.outcome === 'ok')).toHaveLength(2);
    expect(count('confirmed')).toBe(8);
    s = await statistics();
    expect(s).toMatchObject({
      networked: before.networked,
      networkedMeasured: before.networkedMeasured,
      networkedUnconfirmed: 0,
      beyondLedger: 0,
      enterprisesExceedingLedger: 0,
    });
    expect(victimOf(s)).toEqual(victimOf(before));

    // Nothing left: 200, none retired, still audited.
    const none = (await (await bulk('victim', { status: 'unconfirmed' })).json()) as BulkReply;
    expect(none).toMatchObject({ retired: 0, ids: [] });
    expect(bulkEntries()[0]!.detail).toMatchObject({ count: 0 });
  });

  it('a rebirth of the retired ids keeps them retired and out of the figures', async () => {
    const attacker = gateways.find((g) => g.node === 'gw-attacker')!;
    const seen = hub.registry.machine('victim', 'fake-9')!.lastSeenAt!;
    await attacker.nbirth();
    for (const id of fakes('fake', 10)) await attacker.dbirth(id, { nc: true });
    await waitFor(async () => {
      await hub.flush();
      return (hub.registry.machine('victim', 'fake-9')?.lastSeenAt ?? 0) > seen;
    }, 'the rebirth of the invented machines');
    expect(count('retired', 'gw-attacker')).toBe(FLOOD);
    expect(count('unconfirmed')).toBe(0);
    const s = await statistics();
    expect(s).toMatchObject({ networkedUnconfirmed: 0, beyondLedger: 0, enterprisesExceedingLedger: 0 });
    expect(victimOf(s)).toEqual(victimOf(before));
  });

  it("wanji machine retire ENTERPRISE --unconfirmed [--gateway G], on the running hub's data dir", async () => {
    const d = ['-d', dir.path];
    const machine = (args: string[]) => runCommand(runMachineCommand, args);
    await flood('gw-cli', fakes('cli', 30));
    await flood('gw-cli-2', fakes('cli2', 5));
    expect(victimOf(await statistics())).toMatchObject({ networkedUnconfirmed: 35, exceedsLedger: true });

    for (const args of [
      ['retire', 'victim', 'cli-1', '--unconfirmed', ...d],
      ['retire', '--unconfirmed', ...d],
      ['retire', 'victim', 'cli-1', '--gateway', 'gw-cli', ...d],
      ['confirm', 'victim', '--unconfirmed', ...d],
      ['list', '--unconfirmed', ...d],
      ['retire', 'victim', '--unconfirmed', '--gateway', '', ...d],
    ]) {
      const r = await machine(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toContain('Usage: wanji machine');
    }
    const unknown = await machine(['retire', 'nobody', '--unconfirmed', ...d]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/no enterprise "nobody"/);
    const unknownGateway = await machine(['retire', 'victim', '--unconfirmed', '--gateway', 'gw-none', ...d]);
    expect(unknownGateway.code).toBe(1);
    expect(unknownGateway.err).toMatch(/no gateway "gw-none" in enterprise "victim"/);
    expect(count('unconfirmed')).toBe(35);

    const one = await machine([
      'retire',
      'victim',
      '--unconfirmed',
      '--gateway',
      'gw-cli',
      '--reason',
      'flood',
      ...d,
    ]);
    expect(one).toMatchObject({ code: 0, err: '' });
    expect(one.out).toBe(
      `victim: retired 30 unconfirmed machines last announced by gateway gw-cli: ${byId(fakes('cli', 30)).join(', ')}\n`,
    );
    expect(count('unconfirmed')).toBe(5);
    expect(bulkEntries()[0]).toMatchObject({
      actor: `cli:${userInfo().username}`,
      source: 'cli',
      outcome: 'ok',
      detail: { gateway: 'gw-cli', count: 30, reason: 'flood' },
    });
    const rest = await machine(['retire', 'victim', '--unconfirmed', ...d]);
    expect(rest.out).toBe(`victim: retired 5 unconfirmed machines: ${byId(fakes('cli2', 5)).join(', ')}\n`);
    expect((await machine(['retire', 'victim', '--unconfirmed', ...d])).out).toBe(
      'victim: no unconfirmed machines to retire\n',
    );
    // The running hub's figures follow at once.
    const s = await statistics();
    expect(s).toMatchObject({ networkedUnconfirmed: 0, beyondLedger: 0, enterprisesExceedingLedger: 0 });
    expect(victimOf(s)).toEqual(victimOf(before));
    expect(count('confirmed')).toBe(8);
    expect((await machine(['--help'])).out).toContain('retire ENTERPRISE --unconfirmed [--gateway G]');
  });
});
