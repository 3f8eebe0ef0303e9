/** `wanji token` against a real registry file, and the demo's admin-token file. */
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureAdminTokenFile, runTokenCommand } from '../../cli/token.js';
import { rawSqliteForTests } from '../../hub/database/database.js';
import { Registry } from '../../hub/registry/registry.js';
import { AuditLog } from '../../hub/security/audit.js';
import { TokenStore } from '../../hub/security/tokens.js';
import { runCommand } from '../support/cli-io.js';
import { registryDir } from '../support/registry-dir.js';
import { silentLogger } from './helpers.js';

let dir: { path: string; remove: () => void };
beforeEach(async () => {
  dir = await registryDir();
});
afterEach(() => dir.remove());

async function withRegistry<T>(f: (r: Registry) => Promise<T> | T): Promise<T> {
  const r = new Registry({ path: join(dir.path, 'registry.db'), logger: silentLogger() });
  await r.start();
  try {
    return await f(r);
  } finally {
    await r.close();
  }
}

const token = (args: string[]) => runCommand(runTokenCommand, args);

describe('wanji token', () => {
  it('creates a token, prints it once, stores only its hash, audits the creation', async () => {
    const r = await token([
      'create',
      '--role',
      'bureau',
      '--region',
      'yiwu',
      '--region',
      'yongkang',
      '--name',
      'county',
      '--expires',
      '90d',
      '-d',
      dir.path,
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const text = r.out.split('\n')[0]!;
    expect(text).toMatch(/^wj_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(r.out).toContain('only time it is shown');
    await withRegistry(async (reg) => {
      const tokens = new TokenStore(reg.database, new AuditLog(reg.database));
      const v = await tokens.verify(text);
      expect(v).toMatchObject({
        ok: true,
        principal: { role: 'bureau', name: 'county', regions: ['yiwu', 'yongkang'] },
      });
      const stored = JSON.stringify(
        rawSqliteForTests(reg.database).prepare('SELECT * FROM api_tokens').all(),
      );
      expect(stored).not.toContain(text.slice(16));
      const expires = tokens.list()[0]!.expiresAt!;
      expect(Math.abs(expires - (Date.now() + 90 * 86_400_000))).toBeLessThan(60_000);
      expect(new AuditLog(reg.database).list()).toMatchObject([
        { action: 'token.create', outcome: 'ok', source: 'cli', actor: expect.stringMatching(/^cli:/) },
      ]);
    });
  });

  it('refuses a bad request with exit 2 and the reason, storing nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['create', '-d', dir.path], /create needs --role/],
      [
        ['create', '--role', 'root', '-d', dir.path],
        /role "root" is not one of admin, operator, bureau, enterprise/,
      ],
      [['create', '--role', 'enterprise', '-d', dir.path], /needs --enterprise/],
      [
        ['create', '--role', 'enterprise', '--enterprise', "x' OR 1=1 --", '-d', dir.path],
        /not in the registry/,
      ],
      [['create', '--role', 'bureau', '--region', 'atlantis', '-d', dir.path], /unknown region "atlantis"/],
      [['create', '--role', 'admin', '--expires', 'soon', '-d', dir.path], /not a duration/],
      [['create', '--role', 'admin', '--bogus', '-d', dir.path], /Unknown option '--bogus'/],
      [['frobnicate', '-d', dir.path], /unknown subcommand "frobnicate"/],
    ];
    for (const [args, message] of cases) {
      const r = await token(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(message);
    }
    await withRegistry((reg) => {
      expect(rawSqliteForTests(reg.database).prepare('SELECT COUNT(*) AS n FROM api_tokens').get()).toEqual({
        n: 0,
      });
    });
  });

  it('lists and revokes; revoking twice or an unknown id exits 1', async () => {
    const created = await token(['create', '--role', 'enterprise', '--enterprise', 'acme', '-d', dir.path]);
    // acme is unknown to a fresh registry: declare it, then create.
    expect(created.code).toBe(2);
    await withRegistry((reg) =>
      reg.upsertEnterprise(
        {
          code: 'acme',
          name: 'Acme',
          regionCode: 'yiwu',
          industryCode: 'hardware',
          backbone: false,
          ledger: { productionEquipment: 1, ncEquipment: 0, robots: 0 },
        },
        'test',
      ),
    );
    const ok = await token(['create', '--role', 'enterprise', '--enterprise', 'acme', '-d', dir.path]);
    expect(ok.code).toBe(0);
    const id = ok.out.slice(3, 15);
    const list = await token(['list', '-d', dir.path]);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(new RegExp(`${id}\\s+enterprise\\s+enterprise acme\\s+active`));
    expect(list.out).not.toContain(ok.out.split('\n')[0]!.slice(16));
    const revoked = await token(['revoke', id, '-d', dir.path]);
    expect(revoked).toMatchObject({ code: 0, out: `token ${id} (enterprise token) revoked\n` });
    expect((await token(['list', '-d', dir.path])).out).toMatch(new RegExp(`${id}.*revoked`));
    const again = await token(['revoke', id, '-d', dir.path]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already revoked/);
    expect((await token(['revoke', '000000000000', '-d', dir.path])).err).toMatch(/no such token/);
  });

  it('finds the data directory from a hub config, relative to the file', async () => {
    const cfg = join(dir.path, 'hub.yaml');
    writeFileSync(cfg, 'dataDir: .\nhttp:\n  port: 0\n');
    const r = await token(['create', '--role', 'operator', '-c', cfg]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`created in ${dir.path}`);
  });

  it('says where it looked when there is no registry', async () => {
    const r = await token(['list', '-d', join(dir.path, 'nowhere')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no hub registry at .*nowhere\/registry\.db/);
  });
});

describe("the demo's admin token", () => {
  it('is written with mode 0600, reused while valid, replaced once revoked', async () => {
    await withRegistry(async (reg) => {
      const first = await ensureAdminTokenFile(reg, dir.path);
      expect(first.created).toBe(true);
      expect(statSync(first.path).mode & 0o777).toBe(0o600);
      const again = await ensureAdminTokenFile(reg, dir.path);
      expect(again).toEqual({ ...first, created: false });
      new TokenStore(reg.database, new AuditLog(reg.database)).revoke(first.token.slice(3, 15), {
        actor: 'cli:test',
        source: 'cli',
      });
      const fresh = await ensureAdminTokenFile(reg, dir.path);
      expect(fresh.created).toBe(true);
      expect(fresh.token).not.toBe(first.token);
    });
  });
});
