/**
 * `wanji registry import FILE -c hub.yaml` imports where the hub keeps its registry, as the other
 * offline tools do (test/hub/offline-tools-postgres.test.ts): with the config's `registry.url`
 * on PostgreSQL, not into a `registry.db` of the data directory, which it opened before -c was
 * taken. What it imports is what a Registry on the same database reads.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runRegistryCommand } from '../../cli/registry.js';
import { Registry } from '../../hub/registry/registry.js';
import { silentLogger, tempDir } from '../hub/helpers.js';
import { runCommand } from '../support/cli-io.js';
import { describeWithPostgres, startPostgres, type TestPostgres } from '../support/postgres.js';

const HEADER = 'code,name,region,industry,backbone,production_equipment,nc_equipment,robots';
const GOOD = [
  'E01,金华精密机械有限公司,婺城区,新能源汽车及配件,是,100,80,5',
  'E02,"Yiwu Flask Co., Ltd.",Yiwu City,flask,no,"1,200",300,0',
];
const csv = (...rows: string[]): string => `\uFEFF${[HEADER, ...rows].join('\r\n')}\r\n`;

describeWithPostgres('wanji registry import -c on a PostgreSQL registry', () => {
  const dir = tempDir();
  let pg: TestPostgres;
  let url: string;
  let config: string;
  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase();
    config = join(dir.path, 'hub.yaml');
    writeFileSync(config, stringify({ dataDir: 'hub', registry: { url } }));
  }, 60_000);
  afterAll(async () => {
    await pg?.close();
    dir.remove();
  });

  it('imports into the database the config names; a Registry there reads the rows', async () => {
    const good = join(dir.path, 'good.csv');
    const bad = join(dir.path, 'bad.csv');
    writeFileSync(good, csv(...GOOD));
    writeFileSync(bad, csv('E03,永康五金,永康,五金,否,1,2,0'));

    const refused = await runCommand(runRegistryCommand, ['import', bad, '-c', config]);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/row 2 \(E03\): NC equipment \(2\) exceeds production equipment \(1\)/);

    const ok = await runCommand(runRegistryCommand, ['import', good, '--config', config, '--by', 'li.si']);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/2 rows, 2 accepted, 0 refused/);
    // Not the data directory's file: the hub on this config would never see it.
    expect(existsSync(join(dir.path, 'hub', 'registry.db'))).toBe(false);

    const reg = new Registry({
      path: join(dir.path, 'unused.db'),
      logger: silentLogger(),
      postgres: { url, statementTimeoutMs: 30_000 },
    });
    await reg.start();
    try {
      expect(reg.enterprises().map((e) => [e.code, e.declaredBy, e.ledger.productionEquipment])).toEqual([
        ['E01', 'li.si', 100],
        ['E02', 'li.si', 1200],
      ]);
      expect(reg.enterprise('E03')).toBeUndefined();
    } finally {
      await reg.close();
    }
    const again = await runCommand(runRegistryCommand, ['import', good, '-c', config, '--dry-run']);
    expect(again.out).toMatch(/0 created, 0 updated, 2 unchanged would be/);
  });

  it('names the key and the fix for a registry.url that is not PostgreSQL, and a hub never started', async () => {
    const file = join(dir.path, 'one.csv');
    writeFileSync(file, csv(GOOD[0]!));
    const badConfig = join(dir.path, 'bad.yaml');
    writeFileSync(badConfig, stringify({ dataDir: 'hub', registry: { url: 'mysql://db/wanji' } }));
    const bad = await runCommand(runRegistryCommand, ['import', file, '-c', badConfig]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('registry.url must be a postgres:// URL');
    const sqliteConfig = join(dir.path, 'sqlite.yaml');
    writeFileSync(sqliteConfig, stringify({ dataDir: 'never-started' }));
    const none = await runCommand(runRegistryCommand, ['import', file, '-c', sqliteConfig]);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no hub registry at .*never-started.*registry\.db; start the hub once/);
  });
});
