/**
 * deploy/: every config in it passes the check of the program that reads it (the CLI's own
 * entry: `wanji hub -c` up to the start, `wanji gateway -c --check`), and the files around them
 * agree with those configs: the compose file's and the Kubernetes manifests' mounts, names and
 * ports, the mosquitto users and ACL (on a real mosquitto), the compose layout run without
 * containers (hub, gateway, simulators, mosquitto, InfluxDB) until every machine is stored, the
 * Dockerfile's paths and entry point, what `npm pack` ships, and the systemd units
 * (`systemd-analyze verify`, where present). Docker itself is not run: the image is checked as far
 * as it can be without building it.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { gatewayConfigsForFleet } from '../../cli/fleet-gateways.js';
import { runGatewayCommand } from '../../cli/gateway.js';
import { runHubCommand } from '../../cli/hub.js';
import { runCli } from '../../cli/main.js';
import { type GatewayConfig, loadGatewayConfig } from '../../gateway/config/index.js';
import { DataType, encodePayload, nodeTopic } from '../../protocol/index.js';
import { generateFleet } from '../../simulators/fleet.js';
import { SimFleet } from '../../simulators/fleet-runtime.js';
import { captureIo } from '../support/cli-io.js';
import { findBinary, freePort, startInfluxd } from '../support/influx-servers.js';
import { killOnExit } from '../support/reaper.js';
import { silentLogger, tempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = join(ROOT, 'deploy');
const COMPOSE_DIR = join(DEPLOY, 'compose');
const K8S_DIR = join(DEPLOY, 'kubernetes');

type Doc = Record<string, unknown>;
const isDoc = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);
/** The mapping at `path` in `v`; fails the test naming the path when it is not one. */
function at(v: unknown, ...path: (string | number)[]): Doc {
  let cur: unknown = v;
  for (const k of path)
    cur = isDoc(cur) || Array.isArray(cur) ? (cur as Record<string, unknown>)[k] : undefined;
  if (!isDoc(cur)) throw new Error(`expected a mapping at ${path.join('.')}`);
  return cur;
}
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));
const readYaml = (file: string): Doc => at(parseYaml(readFileSync(file, 'utf8')));

/**
 * `wanji hub -c FILE` up to the start: the file read as the CLI reads it (relative paths from its
 * folder), the schema, the cross-key rules and the store's own options (built by `new Hub`).
 * An already-aborted signal makes the command return before it starts anything.
 */
async function checkHubConfig(
  file: string,
  more: readonly string[] = [],
): Promise<{ code: number; err: string }> {
  const data = tempDir('wanji-deploy-hub-');
  const stop = new AbortController();
  stop.abort();
  const c = captureIo({ signal: stop.signal, logger: silentLogger() });
  try {
    const code = await runHubCommand(['-c', file, '--data-dir', data.path, ...more], c.io);
    return { code, err: c.err() };
  } finally {
    data.remove();
  }
}

/** `wanji gateway -c FILE --check`: what a gateway and its systemd ExecStartPre run. */
async function checkGatewayConfig(file: string): Promise<{ code: number; out: string; err: string }> {
  const c = captureIo({ logger: silentLogger() });
  const code = await runGatewayCommand(['-c', file, '--check'], c.io);
  return { code, out: c.out(), err: c.err() };
}

/** The environment variables Wanji's programs read (`process.env.X` in their sources). */
function envVarsRead(): Set<string> {
  const names = new Set<string>();
  const scan = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) scan(p);
      else if (/\.(ts|mjs|js)$/.test(e.name)) {
        for (const m of readFileSync(p, 'utf8').matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g))
          names.add(m[1]!);
      }
    }
  };
  for (const d of ['cli', 'hub', 'gateway', 'protocol', 'simulators', 'bin', 'deploy']) scan(join(ROOT, d));
  // Node's own, and the PostgreSQL client's (pg) for registry.url.
  for (const n of ['NODE_ENV', 'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'TZ', 'PGPASSWORD']) names.add(n);
  return names;
}

const hubConfigFiles = [join(DEPLOY, 'examples/hub.yaml'), join(COMPOSE_DIR, 'hub.yaml')];
const gatewayConfigFiles = [join(DEPLOY, 'examples/gateway.yaml'), join(COMPOSE_DIR, 'gateway.yaml')];

describe('deploy/: every hub and gateway config passes the check of the program that reads it', () => {
  it.each(hubConfigFiles.map((f) => [relative(ROOT, f), f]))('%s: wanji hub -c', async (_, file) => {
    expect(await checkHubConfig(file)).toEqual({ code: 0, err: '' });
  });

  it('the hub config in the Kubernetes ConfigMap: wanji hub -c', async () => {
    const dir = tempDir('wanji-deploy-k8s-');
    try {
      const file = join(dir.path, 'hub.yaml');
      writeFileSync(file, str(at(k8sDoc('ConfigMap', 'wanji-hub'), 'data')['hub.yaml']));
      // With the options the pods add after `-c` (their worker id from the pod's name).
      const container = at(
        list(at(k8sDoc('StatefulSet', 'wanji-hub'), 'spec', 'template', 'spec').containers)[0],
      );
      const args = list(container.args).map(str);
      const more = args.slice(args.indexOf('-c') + 2).map((a) => a.replace(/\$\(POD_NAME\)/g, 'wanji-hub-0'));
      expect(await checkHubConfig(file, more)).toEqual({ code: 0, err: '' });
      // Without them a worker has no id: refused, naming the fix.
      const bare = await checkHubConfig(file);
      expect(bare.code).toBe(2);
      expect(bare.err).toMatch(/\/cluster\/worker: required.*wanji hub --worker/);
    } finally {
      dir.remove();
    }
  });

  it.each(gatewayConfigFiles.map((f) => [relative(ROOT, f), f]))(
    '%s: wanji gateway -c --check',
    async (_, file) => {
      const r = await checkGatewayConfig(file);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toContain('is valid');
    },
  );

  it('the same checks refuse a broken copy of each, naming the key (they can fail)', async () => {
    const dir = tempDir('wanji-deploy-broken-');
    try {
      const hub = join(dir.path, 'hub.yaml');
      // InfluxDB v1 without its database; a key the schema does not know.
      const text = readFileSync(join(COMPOSE_DIR, 'hub.yaml'), 'utf8')
        .replace(/^ {2}database: wanji\n/m, '')
        .replace(/^hostId:/m, 'workerGroups: [E001]\nhostId:');
      writeFileSync(hub, text);
      const h = await checkHubConfig(hub);
      expect(h.code).toBe(2);
      expect(h.err).toMatch(/workerGroups|database/);
      const gw = join(dir.path, 'gateway.yaml');
      writeFileSync(
        gw,
        readFileSync(join(COMPOSE_DIR, 'gateway.yaml'), 'utf8').replace('port: 5020', 'port: 70000'),
      );
      const g = await checkGatewayConfig(gw);
      expect(g.code).toBe(2);
      expect(g.err).toContain('/connections/1/port');
    } finally {
      dir.remove();
    }
  });
});

// ---- compose

const compose = readYaml(join(COMPOSE_DIR, 'compose.yaml'));
const services = at(compose, 'services');
const service = (name: string): Doc => at(services, name);
const wanjiServices = Object.keys(services).filter((n) => str(service(n).image).startsWith('wanji:'));
/** `./x:/target[:ro]` volumes of a service, as [absolute source, target]. */
const bindMounts = (name: string): [string, string][] =>
  list(service(name).volumes)
    .map(str)
    .filter((v) => v.startsWith('./'))
    .map((v) => {
      const [src = '', target = ''] = v.split(':');
      return [resolve(COMPOSE_DIR, src), target];
    });
/** In-container path → file in deploy/compose, for bind mounts and secrets of a service. */
function composeFiles(name: string): Map<string, string> {
  const files = new Map<string, string>(bindMounts(name).map(([src, target]) => [target, src]));
  const secrets = at(compose, 'secrets');
  for (const s of list(service(name).secrets).map(str)) {
    files.set(`/run/secrets/${s}`, resolve(COMPOSE_DIR, str(at(secrets, s).file)));
  }
  return files;
}
/** The value after `flag` in a command list. */
const argAfter = (command: unknown, flag: string): string => {
  const args = list(command).map(str);
  const i = args.indexOf(flag);
  if (i < 0 || i + 1 >= args.length) throw new Error(`${flag} not in ${args.join(' ')}`);
  return args[i + 1]!;
};
const hostOf = (url: string): string => new URL(url).hostname;

describe('deploy/compose: the services, their mounts and the configs agree', () => {
  it('mounts only files that exist, and each wanji service reads a config the checks above passed', () => {
    for (const name of Object.keys(services)) {
      for (const [src] of bindMounts(name)) expect(existsSync(src), `${name}: ${src}`).toBe(true);
    }
    for (const s of Object.values(at(compose, 'secrets'))) {
      expect(existsSync(resolve(COMPOSE_DIR, str(at(s).file)))).toBe(true);
    }
    const hubFile = composeFiles('hub').get(argAfter(service('hub').command, '-c'));
    expect(hubFile).toBe(join(COMPOSE_DIR, 'hub.yaml'));
    const gwFile = composeFiles('gateway').get(argAfter(service('gateway').command, '-c'));
    expect(gwFile).toBe(join(COMPOSE_DIR, 'gateway.yaml'));
  });

  it("the hub's broker password, broker, store and data directory are the compose file's", async () => {
    const hub = readYaml(join(COMPOSE_DIR, 'hub.yaml'));
    const mqtt = at(hub, 'mqtt');
    const passwordFile = composeFiles('hub').get(str(mqtt.passwordFile));
    expect(passwordFile, 'mqtt.passwordFile is a secret of the hub service').toBeDefined();
    expect(hostOf(str(mqtt.url))).toBe('mosquitto');
    expect(services).toHaveProperty(hostOf(str(mqtt.url)));
    expect(services).toHaveProperty(hostOf(str(at(hub, 'store').url)));
    // The image's volume, where the hub's data goes.
    expect(list(service('hub').volumes).map(str)).toContain(`hub-data:${str(hub.dataDir)}`);
    // Published on the host's loopback only, to the port the hub listens on.
    expect(list(service('hub').ports).map(str)).toEqual([`127.0.0.1:8080:${at(hub, 'http').port}`]);
    // The password mosquitto knows for the hub's user is the one in the secret.
    expect(mosquittoUsers()).toContain(str(mqtt.username));
    expect(readFileSync(passwordFile!, 'utf8').trim()).not.toBe('');
  });

  it("the gateway reads the sim service's machines: the fleet `wanji sim` makes for the same options", async () => {
    const gateway = await loadGatewayConfig(join(COMPOSE_DIR, 'gateway.yaml'));
    expect(hostOf(gateway.mqtt.url)).toBe('mosquitto');
    expect(gateway.mqtt.primaryHost).toBe(str(readYaml(join(COMPOSE_DIR, 'hub.yaml')).hostId));
    expect(mosquittoUsers()).toContain(gateway.mqtt.username);
    expect(list(service('gateway').volumes).map(str)).toContain(`gateway-data:${gateway.dataDir}`);

    const sim = service('sim');
    const host = argAfter(sim.command, '--host');
    expect(sim.hostname).toBe(host);
    const opcuaPort = Number(argAfter(sim.command, '--opcua-port'));
    const modbusPort = Number(argAfter(sim.command, '--modbus-port'));
    const plan = generateFleet({
      machines: Number(argAfter(sim.command, '--machines')),
      seed: Number(argAfter(sim.command, '--seed')),
      enterprises: Number(argAfter(sim.command, '--enterprises')),
    });
    expect(plan.enterprises.map((e) => e.code)).toEqual([gateway.gateway.group]);
    const pki = tempDir('wanji-deploy-pki-');
    // In a folder of its own: the OPC UA server keeps its user certificates beside the PKI folder.
    const fleet = new SimFleet(plan, { logger: silentLogger(), tickMs: 0, pkiDir: join(pki.path, 'pki') });
    let expected: GatewayConfig;
    try {
      await fleet.start();
      [expected] = gatewayConfigsForFleet(fleet, { mqttUrl: gateway.mqtt.url }) as [GatewayConfig];
    } finally {
      await fleet.close();
      pki.remove();
    }
    // The same machines, tags, node ids and registers as the demo's generated config.
    expect(gateway.machines).toEqual(expected.machines);
    // On the sim service's fixed ports (sim-fixed-ports.mjs: OPC UA on --opcua-port, then
    // the Modbus servers from --modbus-port).
    const endpoints = gateway.connections.map((c) =>
      c.type === 'opcua' ? c.endpoint : c.type === 'modbus-tcp' ? `${c.host}:${c.port}` : c.type,
    );
    expect(endpoints).toEqual([`opc.tcp://${host}:${opcuaPort}`, `${host}:${modbusPort}`]);
    expect(expected.connections.map((c) => c.type)).toEqual(gateway.connections.map((c) => c.type));
  }, 120_000);

  it('sim-fixed-ports.mjs uses the simulators as they are exported', async () => {
    const script = readFileSync(join(COMPOSE_DIR, 'sim-fixed-ports.mjs'), 'utf8');
    expect(spawnSync(process.execPath, ['--check', join(COMPOSE_DIR, 'sim-fixed-ports.mjs')]).status).toBe(0);
    const modules: Record<string, string> = {
      'simulators/fleet.js': 'generateFleet',
      'simulators/machine.js': 'SimMachine',
      'simulators/opcua/server.js': 'OpcuaSimServer',
      'simulators/modbus/server.js': 'ModbusSimServer',
    };
    for (const [path, name] of Object.entries(modules)) {
      expect(script).toContain(`load('${path}')`);
      const mod = (await import(join(ROOT, path.replace(/\.js$/, '.ts')))) as Record<string, unknown>;
      expect(typeof mod[name], `${path} exports ${name}`).toBe('function');
    }
    const mounted = bindMounts('sim').find(([src]) => src.endsWith('sim-fixed-ports.mjs'));
    expect(list(service('sim').entrypoint).map(str)).toEqual(['node', mounted?.[1]]);
    // It loads the simulators from dist/ of the runtime stage's WORKDIR, where the image has them.
    const workdir = dockerfile().find((s) => s.stage === 'runtime' && s.op === 'WORKDIR')?.args;
    expect(script).toContain(`process.env.WANJI_HOME ?? '${workdir}'`);
  });

  it("mosquitto reads the mounted password file and ACL; the image's HEALTHCHECK is the hub's alone", () => {
    const conf = readFileSync(join(COMPOSE_DIR, 'mosquitto/mosquitto.conf'), 'utf8');
    const mounts = new Map(bindMounts('mosquitto').map(([src, target]) => [target, src]));
    for (const key of ['password_file', 'acl_file']) {
      const path = new RegExp(`^${key} (\\S+)$`, 'm').exec(conf)?.[1];
      expect(mounts.has(path ?? ''), `${key} ${path} is mounted`).toBe(true);
    }
    expect(conf).toMatch(/^allow_anonymous false$/m);
    for (const name of wanjiServices) {
      if (name === 'hub') expect(service(name).healthcheck).toBeUndefined();
      else expect(at(service(name), 'healthcheck').disable, name).toBe(true);
    }
  });

  it('sets only environment variables the programs read', () => {
    const known = envVarsRead();
    for (const name of wanjiServices) {
      const env = service(name).environment;
      const keys = Array.isArray(env)
        ? env.map((e) => str(e).split('=')[0]!)
        : Object.keys(isDoc(env) ? env : {});
      for (const k of keys) expect(known.has(k), `${name}: ${k}`).toBe(true);
    }
  });
});

/** The user names in deploy/compose/mosquitto/passwd. */
function mosquittoUsers(): string[] {
  return readFileSync(join(COMPOSE_DIR, 'mosquitto/passwd'), 'utf8')
    .split('\n')
    .filter((l) => l.includes(':'))
    .map((l) => l.split(':')[0]!);
}

const canConnect = (port: number): Promise<boolean> =>
  new Promise((done) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      done(true);
    });
    s.once('error', () => done(false));
  });

const mosquittoBin = findBinary('mosquitto');
if (mosquittoBin === undefined && process.env.CI) {
  throw new Error('mosquitto is required in CI (apt-get install mosquitto)');
}

describe.skipIf(mosquittoBin === undefined)(
  "deploy/compose/mosquitto on a real mosquitto: the demo's logins and the ACL of docs/security.md",
  () => {
    const dir = tempDir('wanji-deploy-mosquitto-');
    let broker: ChildProcess | undefined;
    let url = '';
    const clients: MqttClient[] = [];
    const hub = readYaml(join(COMPOSE_DIR, 'hub.yaml'));
    const hubLogin = {
      username: str(at(hub, 'mqtt').username),
      password: readFileSync(join(COMPOSE_DIR, 'secrets/hub-mqtt-password'), 'utf8').trim(),
    };
    const gw = at(readYaml(join(COMPOSE_DIR, 'gateway.yaml')));
    const gwLogin = { username: str(at(gw, 'mqtt').username), password: str(at(gw, 'mqtt').password) };
    const group = str(at(gw, 'gateway').group);
    const node = str(at(gw, 'gateway').node);

    beforeAll(async () => {
      // deploy's mosquitto.conf, with its listener on a free loopback port and its files here.
      const port = await freePort();
      for (const f of ['passwd', 'acl']) {
        copyFileSync(join(COMPOSE_DIR, 'mosquitto', f), join(dir.path, f));
        chmodSync(join(dir.path, f), 0o600);
      }
      const conf = readFileSync(join(COMPOSE_DIR, 'mosquitto/mosquitto.conf'), 'utf8')
        .replace(/^listener \d+$/m, `listener ${port} 127.0.0.1`)
        .replaceAll('/mosquitto/config/', `${dir.path}/`)
        .replace(/^persistence true$/m, 'persistence false');
      expect(conf).toContain(`listener ${port} 127.0.0.1`);
      writeFileSync(join(dir.path, 'mosquitto.conf'), `user root\n${conf}`);
      broker = spawn(mosquittoBin!, ['-c', join(dir.path, 'mosquitto.conf')], { stdio: 'ignore' });
      killOnExit(broker);
      url = `mqtt://127.0.0.1:${port}`;
      await waitFor(() => canConnect(port), 'mosquitto listening');
    });

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      broker?.kill('SIGTERM');
      dir.remove();
    });

    const connect = async (login: { username: string; password: string }) => {
      const c = await connectAsync(url, {
        ...login,
        clientId: `deploy-${Math.random().toString(16).slice(2, 10)}`,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5_000,
      });
      clients.push(c);
      return c;
    };
    const birth = () =>
      Buffer.from(
        encodePayload({
          timestamp: Date.now(),
          seq: 0,
          metrics: [{ name: 'bdSeq', datatype: DataType.Int64, value: 0 }],
        }),
      );

    it('lets the hub and the gateway in with the passwords of hub.yaml/secrets and gateway.yaml, nobody else', async () => {
      await connect(hubLogin);
      await connect(gwLogin);
      await expect(connect({ ...gwLogin, password: 'wrong' })).rejects.toThrow();
    });

    it("delivers the gateway's own births to the hub, and nothing it publishes as another gateway", async () => {
      const host = await connect(hubLogin);
      const seen: string[] = [];
      host.on('message', (topic) => seen.push(topic));
      await host.subscribeAsync('spBv1.0/#', { qos: 1 });
      const gateway = await connect(gwLogin);
      // Another enterprise's gateway, a command, then its own birth: mosquitto drops the
      // refused ones silently, so the own birth arriving means the others had their turn.
      await gateway.publishAsync(nodeTopic('E999', 'NBIRTH', node), birth(), { qos: 1 });
      await gateway.publishAsync(nodeTopic(group, 'NCMD', node), birth(), { qos: 1 });
      await gateway.publishAsync(nodeTopic(group, 'NBIRTH', node), birth(), { qos: 1 });
      await waitFor(() => seen.includes(nodeTopic(group, 'NBIRTH', node)), 'the own NBIRTH at the hub');
      expect(seen).toEqual([nodeTopic(group, 'NBIRTH', node)]);
    });

    it("lets the gateway read its own commands and the hub's STATE only", async () => {
      const gateway = await connect(gwLogin);
      const granted = await gateway.subscribeAsync(
        [nodeTopic(group, 'NCMD', node), 'spBv1.0/STATE/wanji-hub', 'spBv1.0/#'],
        { qos: 1 },
      );
      expect(granted.map((g) => g.qos)).toEqual([1, 1, 1]);
      const got: string[] = [];
      gateway.on('message', (topic) => got.push(topic));
      const host = await connect(hubLogin);
      await host.publishAsync(nodeTopic('E999', 'NCMD', 'GW-E999'), birth(), { qos: 1 });
      await host.publishAsync(nodeTopic(group, 'NCMD', node), birth(), { qos: 1 });
      await waitFor(() => got.includes(nodeTopic(group, 'NCMD', node)), 'its own NCMD');
      // spBv1.0/# was granted by SUBACK (MQTT 3.1.1 mosquitto) but delivers only what the ACL allows.
      expect(got).toEqual([nodeTopic(group, 'NCMD', node)]);
    });

    it.skipIf(findBinary('influxd') === undefined && !process.env.CI)(
      'runs the layout: the hub (wanji hub -c) on this mosquitto and InfluxDB, the gateway (wanji gateway -c) on sim-fixed-ports.mjs; every machine stored',
      async () => {
        const influx = await startInfluxd();
        const work = tempDir('wanji-deploy-layout-');
        // The sim service's command, on loopback and free ports, from the compiled simulators.
        expect(existsSync(join(ROOT, 'dist/simulators/fleet.js')), 'dist/ built (npm run build)').toBe(true);
        const simArgs = list(service('sim').command).map(str);
        const replace: Record<string, string> = {
          '--host': '127.0.0.1',
          '--opcua-port': '0',
          '--modbus-port': '0',
        };
        const args = simArgs.map((a, i) => replace[simArgs[i - 1] ?? ''] ?? a);
        const simulators = spawn(
          process.execPath,
          [join(COMPOSE_DIR, 'sim-fixed-ports.mjs'), ...args, '--pki-dir', join(work.path, 'sim-pki')],
          {
            env: { ...process.env, WANJI_HOME: ROOT, WANJI_LOG_LEVEL: 'warn' },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        killOnExit(simulators);
        let simOut = '';
        let simErr = '';
        simulators.stdout.on('data', (d: Buffer) => {
          simOut += d.toString();
        });
        simulators.stderr.on('data', (d: Buffer) => {
          simErr += d.toString();
        });
        const simExited = new Promise<void>((done) => simulators.once('exit', () => done()));
        const stopHub = new AbortController();
        const stopGateway = new AbortController();
        const hubIo = captureIo({ signal: stopHub.signal, logger: silentLogger() });
        const gwIo = captureIo({ signal: stopGateway.signal, logger: silentLogger() });
        const runs: Promise<number>[] = [];
        try {
          await waitFor(
            () => simOut.endsWith('\n') || simulators.exitCode !== null,
            'the simulators listening',
            60_000,
          );
          expect(simulators.exitCode, simErr).toBeNull();
          const simLine = JSON.parse(simOut.split('\n')[0]!) as {
            enterprise: { code: string };
            endpoints: { opcua?: { endpointUrl: string }; modbus: { host: string; port: number }[] };
          };
          expect(simLine.enterprise.code).toBe(group);
          // The compose files, with the service names replaced by where the peers run here.
          const hubConfig = readYaml(join(COMPOSE_DIR, 'hub.yaml'));
          hubConfig.dataDir = join(work.path, 'hub');
          Object.assign(at(hubConfig, 'mqtt'), {
            url,
            passwordFile: join(COMPOSE_DIR, 'secrets/hub-mqtt-password'),
          });
          Object.assign(at(hubConfig, 'http'), { host: '127.0.0.1', port: 0 });
          at(hubConfig, 'store').url = influx.url;
          writeFileSync(join(work.path, 'hub.yaml'), JSON.stringify(hubConfig));
          runs.push(runHubCommand(['-c', join(work.path, 'hub.yaml')], hubIo.io));
          await waitFor(() => hubIo.out().includes('Wanji hub running'), 'the hub running', 30_000);

          const gwConfig = readYaml(join(COMPOSE_DIR, 'gateway.yaml'));
          gwConfig.dataDir = join(work.path, 'gateway');
          at(gwConfig, 'mqtt').url = url;
          const endpoints = simLine.endpoints;
          const [opcua, modbus] = list(gwConfig.connections).map((c) => at(c));
          opcua!.endpoint = endpoints.opcua?.endpointUrl;
          Object.assign(modbus!, { host: endpoints.modbus[0]?.host, port: endpoints.modbus[0]?.port });
          writeFileSync(join(work.path, 'gateway.yaml'), JSON.stringify(gwConfig));
          runs.push(runGatewayCommand(['-c', join(work.path, 'gateway.yaml')], gwIo.io));

          const machines = list(gwConfig.machines).map((m) => str(at(m).id));
          const stored = async (): Promise<string[]> => {
            const q = new URLSearchParams({
              db: str(at(hubConfig, 'store').database),
              q: 'SHOW TAG VALUES FROM machine_samples WITH KEY = "machine"',
            });
            const body = (await (await fetch(`${influx.url}/query?${q}`)).json()) as {
              results: { series?: { values: [string, string][] }[] }[];
            };
            return (body.results[0]?.series?.[0]?.values ?? []).map(([, v]) => v).sort();
          };
          await waitFor(
            async () => (await stored()).length === machines.length,
            `all ${machines.length} machines in InfluxDB (hub: ${hubIo.err()} gateway: ${gwIo.err()})`,
            90_000,
          );
          expect(await stored()).toEqual(machines.sort());
          const port = /dashboard {2}http:\/\/[^:]+:(\d+)\//.exec(hubIo.out())?.[1];
          const health = async (): Promise<string> =>
            ((await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { status: string }).status;
          await waitFor(async () => (await health()) === 'ok', "the hub's /healthz ok");
          expect(hubIo.err()).toBe('');
          expect(gwIo.err()).toBe('');
        } finally {
          stopGateway.abort();
          await runs[1];
          stopHub.abort();
          await runs[0];
          simulators.kill('SIGTERM');
          await simExited;
          await influx.close();
          work.remove();
        }
      },
      150_000,
    );
  },
);

// ---- Kubernetes

const k8sDocs: Doc[] = readdirSync(K8S_DIR)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap((f) => parseAllDocuments(readFileSync(join(K8S_DIR, f), 'utf8')).map((d) => at(d.toJS())));
function k8sDoc(kind: string, name: string): Doc {
  const doc = k8sDocs.find((d) => d.kind === kind && at(d, 'metadata').name === name);
  if (doc === undefined) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return doc;
}

describe('deploy/kubernetes: the hub on an external broker', () => {
  const sts = k8sDoc('StatefulSet', 'wanji-hub');
  const pod = at(sts, 'spec', 'template', 'spec');
  const container = at(list(pod.containers)[0]);
  const mounts = list(container.volumeMounts).map((m) => at(m));
  const volumes = list(pod.volumes).map((v) => at(v));
  const hub = at(parseYaml(str(at(k8sDoc('ConfigMap', 'wanji-hub'), 'data')['hub.yaml'])));
  /** The volume mounted at the folder of `path`, and the file's name in it. */
  const volumeFor = (path: string): { volume: Doc; key: string } => {
    const mount = mounts.find((m) => path.startsWith(`${str(m.mountPath)}/`));
    if (mount === undefined) throw new Error(`nothing mounted over ${path}`);
    const volume = volumes.find((v) => v.name === mount.name);
    if (volume === undefined) throw new Error(`no volume ${str(mount.name)}`);
    return { volume, key: posix.relative(str(mount.mountPath), path) };
  };

  it('lists every manifest in the kustomization, and holds no Secret (they are referenced)', () => {
    const k = readYaml(join(K8S_DIR, 'kustomization.yaml'));
    const files = readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...list(k.resources).map(str)].sort()).toEqual(files.sort());
    expect(k8sDocs.filter((d) => d.kind === 'Secret')).toEqual([]);
  });

  it("reads hub.yaml from the ConfigMap and the broker password from the Secret's file", () => {
    const config = volumeFor(argAfter(container.args, '-c'));
    expect(at(config.volume, 'configMap').name).toBe('wanji-hub');
    expect(at(k8sDoc('ConfigMap', 'wanji-hub'), 'data')).toHaveProperty(config.key);
    const password = volumeFor(str(at(hub, 'mqtt').passwordFile));
    const secret = at(password.volume, 'secret');
    expect(list(secret.items).map((i) => at(i).path)).toContain(password.key);
    // The data directory is the claim's volume.
    expect(mounts.find((m) => m.mountPath === hub.dataDir)?.name).toBe(
      at(list(at(sts, 'spec').volumeClaimTemplates)[0], 'metadata').name,
    );
  });

  it('probes /healthz on the port the hub listens on, which the Service targets; requests set; non-root', () => {
    const port = list(container.ports)
      .map((p) => at(p))
      .find((p) => p.containerPort === at(hub, 'http').port);
    expect(port).toBeDefined();
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      const get = at(container, probe, 'httpGet');
      expect(get.path, probe).toBe('/healthz');
      expect(get.port, probe).toBe(port?.name);
    }
    const svc = k8sDoc('Service', 'wanji-hub');
    expect(at(list(at(svc, 'spec').ports)[0]).targetPort).toBe(port?.name);
    expect(at(svc, 'spec', 'selector')).toEqual(at(sts, 'spec', 'selector', 'matchLabels'));
    expect(at(container, 'resources', 'requests')).toMatchObject({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(at(pod, 'securityContext').runAsNonRoot).toBe(true);
    expect(container.image).toBe(service('hub').image);
  });

  it('sets only environment variables the programs read, or its own arguments use', () => {
    const known = envVarsRead();
    const args = list(container.args).map(str).join(' ');
    for (const e of list(container.env)) {
      const name = str(at(e).name);
      expect(known.has(name) || args.includes(`$(${name})`), name).toBe(true);
    }
  });

  it('runs workers: each named after its pod, with one registry on PostgreSQL', () => {
    expect(Number(at(sts, 'spec').replicas)).toBeGreaterThan(1);
    expect(argAfter(container.args, '--worker')).toBe('$(POD_NAME)');
    const podName = list(container.env)
      .map((e) => at(e))
      .find((e) => e.name === 'POD_NAME');
    expect(at(podName, 'valueFrom', 'fieldRef').fieldPath).toBe('metadata.name');
    expect(str(at(hub, 'registry').url)).toMatch(/^postgres:\/\/[^:@]+@/);
    expect(at(hub, 'cluster').name).toBeTruthy();
  });
});

// ---- the image

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly stage: string;
}
function dockerfile(): Instruction[] {
  const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  let stage = '';
  const out: Instruction[] = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (m === null) continue;
    if (m[1] === 'FROM') stage = / AS (\S+)$/i.exec(m[2]!)?.[1] ?? '';
    out.push({ op: m[1]!, args: m[2]!, stage });
  }
  return out;
}
const jsonArgs = (i: Instruction | undefined): string[] => JSON.parse(i?.args ?? '[]') as string[];

describe('deploy/Dockerfile, checked without Docker', () => {
  const steps = dockerfile();
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    scripts: Record<string, string>;
  };

  it('copies from the context only paths that exist and .dockerignore keeps', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const copies = steps.filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(join(ROOT, src)), `COPY ${src}`).toBe(true);
        expect(ignored.includes(src.split('/')[0]!), `${src} is in .dockerignore`).toBe(false);
      }
    }
  });

  it('builds with npm ci and npm run build, and the runtime takes what the build made', () => {
    const build = steps.filter((s) => s.stage === 'build' && s.op === 'RUN').map((s) => s.args);
    expect(build.some((r) => r.includes('npm ci'))).toBe(true);
    expect(build.some((r) => r.includes('npm run build') && r.includes('--omit=dev'))).toBe(true);
    expect(pkg.scripts.build).toContain('vite build web');
    // `npm ci --ignore-scripts` skips every install script: the ones the lockfile says exist
    // (the native bindings) are run by name, so a new native dependency fails here first.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript === true)
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    const rebuilt = /npm rebuild ([^&]+)/.exec(build.find((r) => r.includes('npm ci')) ?? '')?.[1];
    expect(rebuilt?.trim().split(/\s+/).sort()).toEqual(withScripts.sort());
    const fromBuild = steps.filter(
      (s) => s.stage === 'runtime' && s.op === 'COPY' && s.args.startsWith('--from=build'),
    );
    const taken = fromBuild
      .flatMap((s) => s.args.split(/\s+/).slice(1, -1))
      .map((p) => posix.relative('/src', p));
    expect(taken.sort()).toEqual(['bin', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
  });

  it("runs as a non-root user with a data volume, `wanji` from package.json's bin as its entry point", async () => {
    const runtime = steps.filter((s) => s.stage === 'runtime');
    expect(runtime.find((s) => s.op === 'USER')?.args).toMatch(/^wanji/);
    const [command] = jsonArgs(runtime.find((s) => s.op === 'ENTRYPOINT'));
    expect(Object.keys(pkg.bin)).toContain(command);
    // The link on the PATH points at the bin's file in the runtime's WORKDIR.
    const workdir = runtime.find((s) => s.op === 'WORKDIR')?.args ?? '';
    expect(runtime.find((s) => s.op === 'RUN')?.args).toContain(
      `ln -s ${posix.join(workdir, pkg.bin[command!]!)} /usr/local/bin/${command}`,
    );
    const volume = jsonArgs(runtime.find((s) => s.op === 'VOLUME'));
    expect(volume).toEqual([readYaml(join(COMPOSE_DIR, 'hub.yaml')).dataDir]);
    // CMD's first word is a wanji command, and its config is where compose and the units put it.
    const cmd = jsonArgs(runtime.find((s) => s.op === 'CMD'));
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await runCli(['--help']);
      expect(String(write.mock.calls[0]?.[0])).toMatch(new RegExp(`^ {2}${cmd[0]} `, 'm'));
    } finally {
      write.mockRestore();
    }
    expect(argAfter(cmd, '-c')).toBe('/etc/wanji/hub.yaml');
    expect(composeFiles('hub').has(argAfter(cmd, '-c'))).toBe(true);
  });

  it("probes the hub's /healthz on the hub's port", () => {
    const check = steps.find((s) => s.op === 'HEALTHCHECK')?.args ?? '';
    const port = at(readYaml(join(COMPOSE_DIR, 'hub.yaml')), 'http').port;
    expect(check).toContain(`http://127.0.0.1:${port}/healthz`);
  });

  it('`npm pack` ships what the runtime runs: bin, package.json, the compiled CLI and the web app', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const files = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
    for (const f of [
      'package.json',
      `${Object.values(pkg.bin)[0]}`,
      'dist/cli/main.js',
      'dist/web/index.html',
    ]) {
      expect(files.has(f), `${f} in the package (run npm run build first if dist/ is missing)`).toBe(true);
    }
  });
});

// ---- systemd

const SYSTEMD_DIR = join(DEPLOY, 'systemd');
const units = readdirSync(SYSTEMD_DIR).filter((f) => f.endsWith('.service'));
const systemdAnalyze = findBinary('systemd-analyze');

describe('deploy/systemd', () => {
  it.each(units)('%s: a wanji user, its StateDirectory, hardened, restarted on failure', (unit) => {
    const text = readFileSync(join(SYSTEMD_DIR, unit), 'utf8');
    const value = (key: string): string[] =>
      [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
    expect(value('User')).toEqual(['wanji']);
    expect(value('StateDirectory')).toHaveLength(1);
    expect(value('ProtectSystem')).toEqual(['strict']);
    expect(value('NoNewPrivileges')).toEqual(['true']);
    expect(['on-failure', 'always']).toContain(value('Restart')[0]);
    expect(value('MemoryDenyWriteExecute'), "V8's JIT needs W+X memory").toEqual([]);
    // The config it runs is at /etc/wanji; deploy/examples holds the file to put there.
    expect(value('ExecStart')[0]).toMatch(
      /^\/usr\/bin\/node \/opt\/wanji\/bin\/wanji\.js (hub|gateway) -c \/etc\/wanji\//,
    );
  });

  it.skipIf(systemdAnalyze === undefined)(
    systemdAnalyze === undefined
      ? 'systemd-analyze verify — skipped: systemd-analyze is not installed (Debian: systemd)'
      : 'systemd-analyze verify finds nothing to say, and security rates their exposure OK',
    () => {
      const dir = tempDir('wanji-deploy-units-');
      try {
        const files: string[] = [];
        for (const u of units) {
          // A template is verified as one of its instances.
          const name = u.replace('@.service', '@line1.service');
          copyFileSync(join(SYSTEMD_DIR, u), join(dir.path, name));
          files.push(join(dir.path, name));
        }
        const r = spawnSync(systemdAnalyze!, ['verify', ...files], { encoding: 'utf8' });
        // Unknown keys and bad values are only warnings to verify: any line naming a unit fails.
        const lines = `${r.stdout}\n${r.stderr}`
          .split('\n')
          .filter((l) => l.trim() !== '')
          .filter((l) => existsSync('/usr/bin/node') || !l.includes('/usr/bin/node is not executable'));
        expect(lines).toEqual([]);
        expect(r.status).toBe(0);
        const help = spawnSync(systemdAnalyze!, ['security', '--help'], { encoding: 'utf8' }).stdout;
        if (!help.includes('--offline')) return; // systemd < 250 rates running units only
        for (const f of files) {
          const s = spawnSync(systemdAnalyze!, ['security', '--offline=yes', '--no-pager', f], {
            encoding: 'utf8',
          });
          const level = /Overall exposure level for \S+: ([\d.]+)/.exec(`${s.stdout}${s.stderr}`)?.[1];
          expect(Number(level), `${f}: exposure ${level}`).toBeLessThanOrEqual(2.5);
        }
      } finally {
        dir.remove();
      }
    },
  );
});
