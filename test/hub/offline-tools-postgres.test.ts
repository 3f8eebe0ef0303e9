/**
 * The offline tools (`wanji token`, `user`, `mqtt-user`, `machine`) open the hub's registry
 * where the hub does: with `-c` naming a config whose `registry.url` is PostgreSQL, there, not a
 * `registry.db` in the data directory. A token made by `wanji token create -c hub.yaml` is
 * accepted by a hub on that registry.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runTokenCommand } from '../../cli/token.js';
import { Hub } from '../../hub/hub.js';
import { runCommand } from '../support/cli-io.js';
import { describeWithPostgres, startPostgres, type TestPostgres } from '../support/postgres.js';
import { silentLogger, tempDir } from './helpers.js';

describeWithPostgres('offline tools on a PostgreSQL registry', () => {
  const dir = tempDir();
  let pg: TestPostgres;
  let url: string;
  let hub: Hub;
  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase();
    hub = new Hub({
      dataDir: join(dir.path, 'hub'),
      logger: silentLogger(),
      mqtt: { port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      registry: { url, statementTimeoutMs: 30_000 },
    });
    await hub.start();
  }, 60_000);
  afterAll(async () => {
    await hub?.close();
    await pg?.close();
    dir.remove();
  });

  it('wanji token create -c hub.yaml makes a token the hub on that registry accepts', async () => {
    const config = join(dir.path, 'hub.yaml');
    // The hub's data directory has no registry.db: the tool must not look there.
    writeFileSync(config, stringify({ dataDir: 'hub', registry: { url } }));
    const r = await runCommand(runTokenCommand, [
      'create',
      '--role',
      'operator',
      '--name',
      'ops',
      '-c',
      config,
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const token = r.out.split('\n')[0]!;
    const res = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/gateways`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const list = await runCommand(runTokenCommand, ['list', '-c', config]);
    expect(list.code).toBe(0);
    expect(list.out).toContain('ops');
  });

  it('names the key and the fix for a registry.url that is not PostgreSQL', async () => {
    const config = join(dir.path, 'bad.yaml');
    writeFileSync(config, stringify({ dataDir: 'hub', registry: { url: 'mysql://db/wanji' } }));
    const r = await runCommand(runTokenCommand, ['list', '-c', config]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('registry.url must be a postgres:// URL');
  });
});
