/** `wanji user` against a real registry file, and the demo's web user. */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDemoAdminUser, runUserCommand } from '../../cli/user.js';
import { rawSqliteForTests } from '../../hub/database/database.js';
import { Registry } from '../../hub/registry/registry.js';
import { AuditLog } from '../../hub/security/audit.js';
import { UserStore } from '../../hub/security/users.js';
import { runCommand } from '../support/cli-io.js';
import { registryDir } from '../support/registry-dir.js';
import { silentLogger } from '../support/temp.js';

let dir: { path: string; remove: () => void };
beforeEach(async () => {
  dir = await registryDir();
});
afterEach(() => dir.remove());

async function withUsers<T>(f: (users: UserStore, r: Registry) => Promise<T> | T): Promise<T> {
  const r = new Registry({ path: join(dir.path, 'registry.db'), logger: silentLogger() });
  await r.start();
  try {
    return await f(new UserStore(r.database, new AuditLog(r.database)), r);
  } finally {
    await r.close();
  }
}

const user = (args: string[]) => runCommand(runUserCommand, [...args, '-d', dir.path]);

describe('wanji user', () => {
  it('creates a user with a generated password printed once, stores only its hash, audits it', async () => {
    const r = await user(['create', 'county', '--role', 'bureau', '--regions', 'yiwu,yongkang']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const password = r.out.split('\n')[0]!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.out).toContain('shown this once');
    await withUsers(async (users, reg) => {
      expect(await users.checkPassword('county', password)).toBe(true);
      expect(users.get('county')).toMatchObject({ role: 'bureau', regions: ['yiwu', 'yongkang'] });
      const stored = JSON.stringify(rawSqliteForTests(reg.database).prepare('SELECT * FROM users').all());
      expect(stored).not.toContain(password);
      expect(stored).toContain('scrypt$');
      expect(new AuditLog(reg.database).list()).toMatchObject([
        {
          action: 'user.create',
          target: 'county',
          outcome: 'ok',
          source: 'cli',
          actor: expect.stringMatching(/^cli:/),
        },
      ]);
    });
  });

  it('takes the password from a file, lists users, sets a new password and deletes, ending sessions', async () => {
    const file = join(dir.path, 'pw');
    writeFileSync(file, 'first password here\n');
    const made = await user([
      'create',
      'eng',
      '--role',
      'enterprise',
      '--enterprise',
      'acme',
      '--password-file',
      file,
    ]);
    // acme is not in this registry: refused with the reason, nothing stored.
    expect(made.code).toBe(2);
    expect(made.err).toContain('enterprise "acme" is not in the registry');
    const ok = await user(['create', 'ops', '--role', 'operator', '--password-file', file]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).not.toContain('first password here');
    const sessionId = await withUsers(async (users) => {
      expect(await users.checkPassword('ops', 'first password here')).toBe(true);
      const s = await users.signIn('ops', 'first password here', '127.0.0.1');
      expect(s.ok).toBe(true);
      return s.ok ? s.sessionId : '';
    });

    const listed = await user(['list']);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/^NAME\s+ROLE\s+SCOPE\s+STATE\s+SESSIONS/);
    expect(listed.out).toMatch(/ops\s+operator\s+-\s+active\s+1/);

    writeFileSync(file, 'second password here');
    const changed = await user(['passwd', 'ops', '--password-file', file]);
    expect(changed.code, changed.err).toBe(0);
    await withUsers(async (users) => {
      expect(users.session(sessionId)).toMatchObject({ ok: false });
      expect(await users.checkPassword('ops', 'second password here')).toBe(true);
      const s = await users.signIn('ops', 'second password here', '127.0.0.1');
      return s.ok ? s.sessionId : '';
    });

    const generated = await user(['passwd', 'ops']);
    expect(generated.code).toBe(0);
    const password = generated.out.split('\n')[0]!;
    const next = await withUsers(async (users) => {
      expect(await users.checkPassword('ops', password)).toBe(true);
      const s = await users.signIn('ops', password, '127.0.0.1');
      return s.ok ? s.sessionId : '';
    });

    const deleted = await user(['delete', 'ops']);
    expect(deleted.code).toBe(0);
    await withUsers((users) => {
      expect(users.get('ops')).toBeUndefined();
      expect(users.session(next)).toMatchObject({ ok: false });
    });
  });

  it('refuses bad requests: exit 2 for a usage or validation problem, 1 for a missing or taken name', async () => {
    const short = join(dir.path, 'short');
    writeFileSync(short, 'too short\n');
    const cases: [string[], number, RegExp][] = [
      [['create', 'x'], 2, /create needs --role/],
      [['create', 'x', '--role', 'root'], 2, /role "root" is not one of admin, operator, bureau, enterprise/],
      [['create', 'x', '--role', 'child-hub'], 2, /child-hub is for API tokens/],
      [['create', 'x', '--role', 'operator', '--regions', 'yiwu'], 2, /only role bureau takes regions/],
      [['create', 'x', '--role', 'bureau', '--regions', 'atlantis'], 2, /unknown region "atlantis"/],
      [['create', 'x', '--role', 'operator', '--password-file', short], 2, /at least 12 characters/],
      [
        ['create', 'x', '--role', 'operator', '--password-file', join(dir.path, 'none')],
        2,
        /cannot read --password-file/,
      ],
      [['create', 'x\u0007', '--role', 'operator'], 2, /control, bidi or zero-width/],
      // A line separator broke no old check (only \p{Cc}\p{Cf} were refused): a name must read as it is.
      [['create', 'x\u2028y', '--role', 'operator'], 2, /U\+2028, a control, bidi or zero-width/],
      [['passwd'], 2, /passwd needs one user name/],
      [['passwd', 'ghost'], 1, /no user "ghost"/],
      [['delete', 'ghost'], 1, /no user "ghost"/],
      [['list', '--role', 'admin'], 2, /are for create/],
      [['bogus'], 2, /unknown subcommand "bogus"/],
    ];
    for (const [args, code, message] of cases) {
      const r = await user(args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.err, args.join(' ')).toMatch(message);
    }
    const first = await user(['create', 'dup', '--role', 'admin']);
    expect(first.code).toBe(0);
    const again = await user(['create', 'dup', '--role', 'admin']);
    expect(again.code).toBe(1);
    expect(again.err).toContain('exists already');
    await withUsers((users) => expect(users.list().map((u) => u.name)).toEqual(['dup']));
  });
});

describe("the demo's web user", () => {
  it('is created with a random password kept in the data directory (0600), and reused on a second run', async () => {
    const first = await withUsers((_u, r) => ensureDemoAdminUser(r, dir.path));
    expect(first.name).toBe('admin');
    expect(first.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(first.path, 'utf8').trim()).toBe(first.password);
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    const second = await withUsers((_u, r) => ensureDemoAdminUser(r, dir.path));
    expect(second.password).toBe(first.password);
    await withUsers(async (users) => {
      expect(users.get('admin')).toMatchObject({ role: 'admin', disabledAt: null });
      expect(await users.checkPassword('admin', first.password)).toBe(true);
    });
    // A kept password that no longer signs in (changed meanwhile) is replaced.
    writeFileSync(first.path, 'stale password that is wrong\n');
    const third = await withUsers((_u, r) => ensureDemoAdminUser(r, dir.path));
    expect(third.password).not.toBe(first.password);
    await withUsers(async (users) => expect(await users.checkPassword('admin', third.password)).toBe(true));
  });
});
