/**
 * Issue 9, "defaults that are safe on disk": the hub's data directory is 0700 and its
 * databases (with their -wal and -shm), the demo's admin token and a gateway's journal and
 * state are 0600, whatever the umask; files an older hub left readable are tightened, and a
 * data directory open to others is reported. The systemd units and the example config keep
 * plain MQTT and HTTP off the network and set UMask and StateDirectoryMode.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type Logger, pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureAdminTokenFile } from '../../cli/token.js';
import { Journal } from '../../gateway/journal/index.js';
import { StateFile } from '../../gateway/northbound/state-file.js';
import { openPki } from '../../gateway/southbound/opcua/pki.js';
import { Hub } from '../../hub/hub.js';
import { silentLogger, tempDir } from './helpers.js';

const modeOf = (path: string): number => statSync(path).mode & 0o777;
const octal = (m: number): string => `0${m.toString(8)}`;

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  return {
    logger,
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const dirs: { remove: () => void }[] = [];
const hubs: Hub[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.close();
  for (const d of dirs.splice(0)) d.remove();
});

function newHub(dataDir: string, logger: Logger = silentLogger()): Hub {
  const hub = new Hub({ dataDir, mqtt: { port: 0 }, http: { port: 0 }, logger });
  hubs.push(hub);
  return hub;
}

describe('the hub data directory and its files', () => {
  it('are made 0700 and 0600 (databases, -wal, -shm, admin token) even with a permissive umask', async () => {
    // Under the usual umask (022, as in CI) this shows the modes come from the hub, not from the
    // umask; the next test does not depend on the umask at all.
    const tmp = tempDir();
    dirs.push(tmp);
    const dataDir = join(tmp.path, 'var', 'wanji');
    const hub = newHub(dataDir);
    await hub.start();
    hub.registry.upsertEnterprise(
      {
        code: 'acme',
        name: 'acme',
        regionCode: 'yiwu',
        industryCode: 'hardware',
        backbone: false,
        ledger: { productionEquipment: 1, ncEquipment: 1, robots: 0 },
      },
      'test',
    );
    await hub.store.write([
      { enterprise: 'acme', machine: 'm1', metric: 'Signals/speed', ts: Date.now(), value: 1 },
    ]);
    // What `wanji demo` does after starting the hub.
    const admin = await ensureAdminTokenFile(hub.registry, dataDir);

    expect(octal(modeOf(dataDir))).toBe('0700');
    const files = readdirSync(dataDir).filter((f) => statSync(join(dataDir, f)).isFile());
    for (const f of [
      'registry.db',
      'registry.db-wal',
      'registry.db-shm',
      'samples.db',
      'samples.db-wal',
      'admin-token',
    ]) {
      expect(files).toContain(f);
    }
    for (const f of files) expect({ f, mode: octal(modeOf(join(dataDir, f))) }).toEqual({ f, mode: '0600' });
    expect(admin.path).toBe(join(dataDir, 'admin-token'));
  });

  it('tightens the files an older hub left readable, and warns about a directory open to others', async () => {
    const tmp = tempDir();
    dirs.push(tmp);
    const dataDir = join(tmp.path, 'old');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const first = newHub(dataDir);
    await first.start();
    await first.close();
    for (const f of ['registry.db', 'samples.db']) chmodSync(join(dataDir, f), 0o644);
    writeFileSync(join(dataDir, 'admin-token'), 'wj_x\n', { mode: 0o666 });
    chmodSync(join(dataDir, 'admin-token'), 0o666);
    writeFileSync(join(dataDir, 'notes.txt'), 'not the hub’s', { mode: 0o644 });
    chmodSync(join(dataDir, 'notes.txt'), 0o644);

    const { logger, lines } = capturingLogger();
    const hub = newHub(dataDir, logger);
    await hub.start();

    for (const f of ['registry.db', 'samples.db', 'admin-token'])
      expect(octal(modeOf(join(dataDir, f)))).toBe('0600');
    for (const f of ['registry.db-wal', 'registry.db-shm', 'samples.db-wal', 'samples.db-shm']) {
      if (existsSync(join(dataDir, f))) expect(octal(modeOf(join(dataDir, f)))).toBe('0600');
    }
    // Not the hub's file, not the hub's to change; the directory is the operator's choice, reported.
    expect(octal(modeOf(join(dataDir, 'notes.txt')))).toBe('0644');
    expect(octal(modeOf(dataDir))).toBe('0755');
    const warnings = lines().filter((l) => l.level === 40);
    expect(
      warnings.some((w) => w.dataDir === dataDir && String(w.msg).includes(`chmod 700 ${dataDir}`)),
    ).toBe(true);
    const tightened = warnings.filter((w) => String(w.msg).includes('tightened')).map((w) => w.file);
    expect(tightened).toEqual(
      expect.arrayContaining([
        join(dataDir, 'registry.db'),
        join(dataDir, 'samples.db'),
        join(dataDir, 'admin-token'),
      ]),
    );
  });

  it('keeps group read (0640) when an operator gave it, but not group write', async () => {
    const tmp = tempDir();
    dirs.push(tmp);
    const first = newHub(tmp.path);
    await first.start();
    await first.close();
    chmodSync(join(tmp.path, 'registry.db'), 0o640);
    chmodSync(join(tmp.path, 'samples.db'), 0o660);
    const hub = newHub(tmp.path);
    await hub.start();
    expect(octal(modeOf(join(tmp.path, 'registry.db')))).toBe('0640');
    expect(octal(modeOf(join(tmp.path, 'samples.db')))).toBe('0640');
  });
});

describe("a gateway's journal and state", () => {
  it('are a 0700 directory of 0600 segments, indexes and state files', async () => {
    const tmp = tempDir();
    dirs.push(tmp);
    const dir = join(tmp.path, 'gateways', 'gw1', 'journal');
    const journal = new Journal({
      dir,
      logger: silentLogger(),
      now: () => 1_764_000_000_000,
      segmentBytes: 1024,
    });
    for (let n = 1; n <= 100; n++) {
      journal.append('m1', [
        { name: 'Signals/partCount', value: n, quality: 'good', timestamp: 1_764_000_000_000 + n },
      ]);
    }
    journal.ack(10);
    journal.sync();
    journal.close();
    const state = new StateFile(join(tmp.path, 'gateways', 'gw1'));
    await state.saveNextBdSeq(3);

    expect(octal(modeOf(dir))).toBe('0700');
    expect(octal(modeOf(join(tmp.path, 'gateways')))).toBe('0700');
    const names = readdirSync(dir);
    expect(names).toContain('state.json');
    expect(names.some((n) => n.endsWith('.segz'))).toBe(true);
    expect(names.some((n) => n.endsWith('.seg'))).toBe(true);
    for (const n of names) expect({ n, mode: octal(modeOf(join(dir, n))) }).toEqual({ n, mode: '0600' });
    expect(octal(modeOf(state.path))).toBe('0600');
  });
});

describe("the OPC UA client's PKI folder", () => {
  it('keeps the private key 0600 in a 0700 folder, and makes a key left readable 0600 again', async () => {
    const tmp = tempDir();
    dirs.push(tmp);
    const root = join(tmp.path, 'gw', 'pki');
    const first = await openPki(root, 'urn:wanji:test-gw', false, silentLogger());
    await first.manager.dispose();
    expect(octal(modeOf(root))).toBe('0700');
    expect(octal(modeOf(first.paths.privateKeyFile))).toBe('0600');

    // node-opcua restricts a key it finds readable when it opens the folder.
    chmodSync(first.paths.privateKeyFile, 0o644);
    const again = await openPki(root, 'urn:wanji:test-gw', false, silentLogger());
    await again.manager.dispose();
    expect(again.thumbprint).toBe(first.thumbprint);
    expect(octal(modeOf(first.paths.privateKeyFile))).toBe('0600');
  });
});

describe('deployment defaults', () => {
  const deploy = fileURLToPath(new URL('../../deploy', import.meta.url));
  const unit = (name: string) => readFileSync(join(deploy, 'systemd', name), 'utf8');
  const directives = (text: string) =>
    text
      .split('\n')
      .filter((l) => !l.startsWith('#') && l.includes('='))
      .map((l) => l.trim());

  it.each(['wanji-hub.service', 'wanji-gateway@.service'])(
    '%s sets UMask=0077 and a 0700 state directory',
    (name) => {
      const d = directives(unit(name));
      expect(d).toContain('UMask=0077');
      expect(d).toContain('StateDirectoryMode=0700');
      expect(d.some((l) => l.startsWith('StateDirectory='))).toBe(true);
    },
  );

  it('the hub unit and example config do not put plain MQTT or HTTP on every interface', () => {
    const exec = directives(unit('wanji-hub.service')).filter((l) => l.startsWith('ExecStart'));
    expect(exec.join('\n')).not.toMatch(/0\.0\.0\.0|--host\b/);
    const example = parse(readFileSync(join(deploy, 'examples', 'hub.yaml'), 'utf8')) as {
      mqtt: { host: string };
      http: { host: string };
    };
    expect(example.mqtt.host).toBe('127.0.0.1');
    expect(example.http.host).toBe('127.0.0.1');
  });
});
