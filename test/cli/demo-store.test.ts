/**
 * Issue 13: `wanji demo --store <address>` makes the InfluxDB (and VictoriaMetrics) path one
 * command for a newcomer. The real command (hub, simulated fleet, gateways on port 0) runs
 * in-process against Debian's InfluxDB 1.6 on loopback; its machines' samples are counted in
 * InfluxDB itself, and the banner names the store. A bad address is refused before anything
 * starts.
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runDemoCommand } from '../../cli/demo.js';
import { silentLogger, tempDir, waitFor } from '../hub/helpers.js';
import { countInflux, describeWithServer, startInfluxd, type TestServer } from '../support/influx-servers.js';

const logger = silentLogger();

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return () => text;
}

describeWithServer('influxd', 'wanji demo --store influxdb://…', () => {
  const dir = tempDir();
  let influx: TestServer;
  beforeAll(async () => {
    influx = await startInfluxd();
  }, 60_000);
  afterAll(async () => {
    await influx?.close();
    dir.remove();
  });

  it('stores the fleet in InfluxDB, making the database, and says so in its banner', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = collect(stdout);
    const err = collect(stderr);
    const controller = new AbortController();
    let exited = false;
    const address = influx.url.replace(/^http:/, 'influxdb:');
    const running = runDemoCommand(
      [
        '--machines',
        '6',
        '--store',
        `${address}/wanji_demo`,
        '--data-dir',
        join(dir.path, 'demo'),
        '--http-port',
        '0',
        '--mqtt-port',
        '0',
      ],
      { stdout, stderr, logger, signal: controller.signal },
    ).finally(() => {
      exited = true;
    });
    try {
      await waitFor(
        () => exited || /networked (\d+)\/\1,/.test(out()),
        'the demo to network its fleet',
        60_000,
      );
      expect(exited, err()).toBe(false);
      expect(out()).toContain(`store      ${influx.url} (InfluxDB 1.x, database wanji_demo)`);
      await waitFor(
        async () => (await countInflux(influx.url, 'wanji_demo', 'machine_samples')) > 30,
        'samples in InfluxDB',
        30_000,
      );
    } finally {
      controller.abort();
      expect(await running).toBe(0);
    }
  }, 120_000);
});

it('wanji demo refuses a store address it cannot read, naming the forms, before starting', async () => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const err = collect(stderr);
  const code = await runDemoCommand(['--store', 'mysql://db/wanji'], {
    stdout,
    stderr,
    logger,
    signal: new AbortController().signal,
  });
  expect(code).toBe(2);
  expect(err()).toContain('unknown kind of store "mysql://"');
  expect(err()).toContain('influxdb://host:8086/database');
});
