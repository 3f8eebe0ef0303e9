/**
 * Third-party edge nodes against a real hub (issue 10): Eclipse Tahu's Python edge node
 * subscribes to `spBv1.0/G/NCMD/N/#` and `spBv1.0/G/DCMD/N/#` and uses Sparkplug ids with
 * spaces (`Sparkplug B Devices` / `Python Edge Node 1`). Both were refused: the SUBACK said 128,
 * so the node never heard a rebirth, and `wanji mqtt-user add` refused the user name.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMqttUserCommand } from '../../cli/mqtt-user.js';
import { Hub } from '../../hub/hub.js';
import { allowedFilters, checkSubscribe } from '../../hub/security/mqtt-acl.js';
import {
  DataType,
  decodePayload,
  deviceTopic,
  encodePayload,
  NODE_METRIC,
  nodeTopic,
} from '../../protocol/index.js';
import { runCommand } from '../support/cli-io.js';
import { apiToken, cncBirth, tempDir, waitFor } from './helpers.js';
import { capturingLogger, mqttOptions } from './mqtt-security-helpers.js';

const GROUP = 'Sparkplug B Devices';
const NODE = 'Python Edge Node 1';
const DEVICE = 'Emulated Device';

function payload(seq: number, metrics = cncBirth(Date.now())): Buffer {
  return Buffer.from(encodePayload({ timestamp: Date.now(), seq, metrics }));
}

describe('subscribe ACL: any filter within its own commands, nothing broader', () => {
  const g = { group: 'E1', node: 'GW-1' };
  const allowed = allowedFilters(g, 'wanji-hub');
  it.each([
    'spBv1.0/E1/NCMD/GW-1/#',
    'spBv1.0/E1/DCMD/GW-1/#',
    'spBv1.0/E1/NCMD/GW-1/+',
    'spBv1.0/E1/DCMD/GW-1/+/#',
    'spBv1.0/E1/DCMD/GW-1',
  ])('allows %s', (f) => {
    expect(checkSubscribe(g, f, allowed)).toBeUndefined();
  });
  it.each([
    'spBv1.0/E1/NCMD/#',
    'spBv1.0/E1/NCMD/+',
    'spBv1.0/E1/NCMD/+/#',
    'spBv1.0/E1/+/GW-1/#',
    'spBv1.0/+/NCMD/GW-1/#',
    '+/E1/NCMD/GW-1/#',
    'spBv1.0/E1/#',
    'spBv1.0/E1/NCMD/GW-10/#',
    'spBv1.0/E1/NCMD/GW-1#',
    'spBv1.0/E1/NCMD/GW-1/#/x',
    'spBv1.0/E1/NCMD/GW-1/a+',
    'spBv1.0/E1/NDATA/GW-1/#',
    'spBv1.0/STATE/#',
    '$share/g/spBv1.0/E1/NCMD/GW-1',
  ])('refuses %s, naming what is allowed', (f) => {
    expect(checkSubscribe(g, f, allowed)).toMatch(/outside this credential's commands.*NCMD\/GW-1\/#/);
  });
});

describe('a Tahu-like edge node with spaces in its ids, against a real hub', () => {
  const dir = tempDir();
  const logs = capturingLogger();
  const hub = new Hub({
    dataDir: dir.path,
    mqtt: { port: 0, revocationCheckMs: 100 },
    http: { port: 0 },
    flushIntervalMs: 20,
    rebirthMinIntervalMs: 0,
    logger: logs.logger,
  });
  const clients: MqttClient[] = [];
  let password = '';
  const username = `${GROUP}.${NODE}`;

  beforeAll(async () => {
    await hub.start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await hub.close();
    dir.remove();
  });

  it('wanji mqtt-user add takes the ids with spaces and makes the default user name from them', async () => {
    const r = await runCommand(runMqttUserCommand, ['add', GROUP, NODE, '-d', dir.path]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    password = r.out.split('\n')[0]!;
    expect(r.out).toContain(`username: "${username}"`);
    expect(hub.mqttCredentials.find(username)).toMatchObject({ group: GROUP, node: NODE });
  });

  it('still refuses user names with white space at an end, or an invisible character', async () => {
    const lead = await runCommand(runMqttUserCommand, [
      'add',
      GROUP,
      'Node 2',
      '-u',
      ' Node 2',
      '-d',
      dir.path,
    ]);
    expect(lead.code).toBe(2);
    expect(lead.err).toContain('user name " Node 2" starts or ends with white space');
    const zw = await runCommand(runMqttUserCommand, [
      'add',
      GROUP,
      'Node 2',
      '-u',
      'Node\u200B2',
      '-d',
      dir.path,
    ]);
    expect(zw.code).toBe(2);
    expect(zw.err).toContain('user name "Node\\u{200b}2" contains an invisible character (U+200B)');
    const badNode = await runCommand(runMqttUserCommand, ['add', GROUP, 'Node\u202E2', '-d', dir.path]);
    expect(badNode.code).toBe(2);
    expect(badNode.err).toContain('edge node id');
    expect(badNode.err).toContain('bidirectional');
    expect(hub.mqttCredentials.list().map((c) => c.username)).toEqual([username]);
  });

  it("subscribes with Tahu's filters, hears the rebirth through NCMD/#, and its births register", async () => {
    const c = await connectAsync(
      hub.mqttUrl,
      mqttOptions({
        username,
        password,
        will: { topic: nodeTopic(GROUP, 'NDEATH', NODE), payload: payload(0, []), qos: 0, retain: false },
      }),
    );
    clients.push(c);
    const suback = (filter: string) =>
      new Promise<number | undefined>((resolve) =>
        // The SUBACK's own return code (mqtt.js reports the requested QoS in `granted`).
        c.subscribe(filter, { qos: 0 }, (_err, _granted, packet) => resolve(packet?.granted[0] as number)),
      );
    expect(await suback(`spBv1.0/${GROUP}/NCMD/${NODE}/#`)).toBe(0);
    expect(await suback(`spBv1.0/${GROUP}/DCMD/${NODE}/#`)).toBe(0);
    expect(await suback(`spBv1.0/${GROUP}/NCMD/+/#`)).toBe(128);
    expect(await suback(`spBv1.0/${GROUP}/NCMD/Python Edge Node 10/#`)).toBe(128);
    expect(logs.find('MQTT subscription refused').map((l) => l.topic)).toEqual([
      `spBv1.0/${GROUP}/NCMD/+/#`,
      `spBv1.0/${GROUP}/NCMD/Python Edge Node 10/#`,
    ]);

    // Data before any birth: the hub asks for a rebirth on the node's NCMD topic.
    const commands: { topic: string; rebirth: unknown }[] = [];
    c.on('message', (topic, p) => {
      const m = decodePayload(p).metrics.find((x) => x.name === NODE_METRIC.rebirth);
      commands.push({ topic, rebirth: m?.value });
    });
    await c.publishAsync(nodeTopic(GROUP, 'NDATA', NODE), payload(5, []), { qos: 0 });
    await waitFor(() => commands.length > 0, 'the rebirth NCMD at the edge node');
    expect(commands[0]).toEqual({ topic: `spBv1.0/${GROUP}/NCMD/${NODE}`, rebirth: true });

    await c.publishAsync(
      nodeTopic(GROUP, 'NBIRTH', NODE),
      payload(0, [
        { name: 'bdSeq', datatype: DataType.Int64, value: 0 },
        { name: NODE_METRIC.rebirth, datatype: DataType.Boolean, value: false },
      ]),
      { qos: 0 },
    );
    await c.publishAsync(deviceTopic(GROUP, 'DBIRTH', NODE, DEVICE), payload(1), { qos: 0 });
    await waitFor(
      () => hub.registry.gateway(GROUP, NODE)?.online === true,
      'the edge node online at the hub',
    );
    await waitFor(() => hub.registry.machine(GROUP, DEVICE) !== undefined, 'its device registered');
    expect(c.connected).toBe(true);
    expect(logs.find('MQTT publish refused')).toEqual([]);
  });

  it('revokes the credential with spaces in its name over the API, and the broker drops it', async () => {
    const c = clients[0]!;
    const gone = new Promise<void>((resolve) => c.once('close', () => resolve()));
    const r = await fetch(
      `http://127.0.0.1:${hub.httpPort}/api/v1/mqtt-users/${encodeURIComponent(username)}`,
      { method: 'DELETE', headers: apiToken(hub.registry, 'admin') },
    );
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ username, status: 'revoked' });
    await gone;
  });
});
