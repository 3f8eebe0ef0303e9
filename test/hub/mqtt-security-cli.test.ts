/**
 * `wanji mqtt-user`: credentials made with the CLI let a real MQTT client in to a running hub,
 * and revoking one with the CLI (another writer of the registry file) drops it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMqttUserCommand } from '../../cli/mqtt-user.js';
import { Hub } from '../../hub/hub.js';
import { nodeTopic } from '../../protocol/index.js';
import { runCommand } from '../support/cli-io.js';
import { silentLogger, tempDir } from './helpers.js';
import { capturingLogger, connectRefusal, mqttOptions } from './mqtt-security-helpers.js';

const passwordOf = (out: string): string => out.split('\n')[0]!;

describe('wanji mqtt-user', () => {
  const dir = tempDir();
  const hub = new Hub({
    dataDir: dir.path,
    mqtt: { port: 0, revocationCheckMs: 100 },
    http: { port: 0 },
    logger: silentLogger(),
  });
  const run = (...args: string[]) => runCommand(runMqttUserCommand, args);

  beforeAll(async () => {
    await hub.start();
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  it('prints help, and refuses bad arguments with exit code 2', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('wanji mqtt-user add <group> <node>');
    expect((await run()).code).toBe(2);
    const bad = await run('frobnicate');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown subcommand "frobnicate"');
    const missing = await run('add', 'E1', '-d', dir.path);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('add takes a group and an edge node id; got E1');
    expect((await run('list', '--username', 'x', '-d', dir.path)).err).toContain(
      '--username is only for add',
    );
  });

  it('says where it looked when there is no registry', async () => {
    const empty = tempDir();
    try {
      const r = await run('list', '-d', empty.path);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`no hub registry at ${join(empty.path, 'registry.db')}`);
    } finally {
      empty.remove();
    }
  });

  it('adds a credential whose password lets a gateway in to the running hub, once', async () => {
    const r = await run('add', 'E200', 'GW-1', '-d', dir.path);
    expect(r.code).toBe(0);
    const password = passwordOf(r.out);
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.out).toContain('MQTT user E200.GW-1 created for group E200, edge node GW-1');
    expect(r.out).toContain(`password: "${password}"`);
    const c = await connectAsync(
      hub.mqttUrl,
      mqttOptions({
        username: 'E200.GW-1',
        password,
        will: { topic: nodeTopic('E200', 'NDEATH', 'GW-1'), payload: Buffer.alloc(0), qos: 1, retain: false },
      }),
    );
    expect(c.connected).toBe(true);
    await c.endAsync();

    const again = await run('add', 'E200', 'GW-1', '-d', dir.path);
    expect(again.code).toBe(2);
    expect(again.err).toContain('user name "E200.GW-1" already exists for E200/GW-1');
    const badId = await run('add', 'E200', 'GW/1', '-d', dir.path);
    expect(badId.code).toBe(2);
    expect(badId.err).toContain('edge node id "GW/1" contains one of the MQTT characters');
    const badUser = await run('add', 'E200', 'GW-9', '--username', '$root', '-d', dir.path);
    expect(badUser.code).toBe(2);
    expect(badUser.err).toContain('starts with "$"');
    // Refusals changed nothing.
    expect(hub.mqttCredentials.list().map((x) => x.username)).toEqual(['E200.GW-1']);
    expect(
      hub.mqttCredentials.audit
        .list({ action: 'mqtt_user.create' })
        .map((e) => e.outcome)
        .sort(),
    ).toEqual(['ok', 'refused', 'refused', 'refused']);
  });

  it('finds the data dir through the hub config, and lists credentials with their status', async () => {
    const config = join(dir.path, 'hub.yaml');
    writeFileSync(config, 'dataDir: .\n');
    const r = await run('add', 'E200', 'GW-2', '--username', 'press-line-2', '-c', config);
    expect(r.code).toBe(0);
    const list = await run('list', '-c', config);
    expect(list.code).toBe(0);
    const lines = list.out.trim().split('\n');
    expect(lines[0]).toMatch(/^USER\s+GROUP\s+NODE\s+STATUS\s+CREATED\s+BY\s+REVOKED$/);
    expect(lines.find((l) => l.startsWith('press-line-2'))).toMatch(/press-line-2\s+E200\s+GW-2\s+active/);
    expect(list.out).not.toContain(passwordOf(r.out));
  });

  it('revokes: a connected client is dropped by the running hub, and refused after', async () => {
    const r = await run('add', 'E200', 'GW-3', '-d', dir.path);
    const password = passwordOf(r.out);
    const logs = capturingLogger();
    const c = await connectAsync(hub.mqttUrl, mqttOptions({ username: 'E200.GW-3', password }));
    const gone = new Promise<void>((resolve) => c.once('close', () => resolve()));
    const revoke = await runCommand(runMqttUserCommand, ['revoke', 'E200.GW-3', '-d', dir.path], logs.logger);
    expect(revoke.code).toBe(0);
    expect(revoke.out).toContain('MQTT user E200.GW-3 (E200/GW-3) revoked');
    expect(logs.find('MQTT user revoked')).toHaveLength(1);
    await gone;
    expect(await connectRefusal(hub.mqttUrl, { username: 'E200.GW-3', password })).toMatch(/Bad username/i);
    const list = await run('list', '-d', dir.path);
    expect(list.out.split('\n').find((l) => l.startsWith('E200.GW-3'))).toMatch(/\srevoked\s/);
    const unknown = await runCommand(runMqttUserCommand, ['revoke', 'nobody', '-d', dir.path], logs.logger);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no MQTT user "nobody"');
    expect(logs.find('mqtt-user revoke refused')[0]).toMatchObject({ code: 'WANJI_E_MQTT_USER_NOT_FOUND' });
    await c.endAsync(true);
  });
});
