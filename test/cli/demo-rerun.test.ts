/**
 * Issue 10: rerunning `wanji demo` on the same data directory silently re-declared E001–E003
 * under new names and regions. A rerun keeps the directory's fleet; asking for another fleet
 * on it is refused with the directory and the fix. Runs the real command (hub, simulated
 * fleet, gateways on port 0) in-process and reads the enterprises back over the HTTP API.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemoCommand } from '../../cli/demo.js';
import { DEMO_FLEET_FILE } from '../../cli/demo-fleet.js';
import { silentLogger, tempDir, waitFor } from '../hub/helpers.js';

const logger = silentLogger();

interface DemoRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The enterprises the API served while the demo ran (empty when it refused to start). */
  enterprises: { code: string; name: string; region: string }[];
}

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return () => text;
}

/** Runs `wanji demo args` until every machine is networked (or it exits), reads the API, stops it. */
async function demo(args: string[]): Promise<DemoRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  const controller = new AbortController();
  let exited = false;
  const running = runDemoCommand([...args, '--http-port', '0', '--mqtt-port', '0'], {
    stdout,
    stderr,
    logger,
    signal: controller.signal,
  }).finally(() => {
    exited = true;
  });
  await waitFor(() => exited || /networked (\d+)\/\1,/.test(out()), 'the demo to network its fleet', 60_000);
  let enterprises: DemoRun['enterprises'] = [];
  if (!exited) {
    const base = /plain page (http:\/\/[^#\s]+\/)plain#token=(\S+)/.exec(out());
    expect(base, out()).not.toBeNull();
    const res = await fetch(`${base![1]}api/v1/enterprises`, {
      headers: { authorization: `Bearer ${base![2]}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { enterprises: DemoRun['enterprises'] };
    enterprises = body.enterprises
      .map(({ code, name, region }) => ({ code, name, region }))
      .sort((a, b) => a.code.localeCompare(b.code));
    controller.abort();
  }
  const code = await running;
  return { code, stdout: out(), stderr: err(), enterprises };
}

describe('wanji demo rerun on one data directory (issue 10)', () => {
  const dir = tempDir();
  const dataDir = join(dir.path, 'demo');
  afterAll(() => dir.remove());

  let first: DemoRun;

  it('a first run records its fleet in the directory', async () => {
    first = await demo(['--machines', '6', '--seed', '5', '--data-dir', dataDir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.enterprises.map((e) => e.code)).toEqual(['E001', 'E002', 'E003']);
    expect(JSON.parse(readFileSync(join(dataDir, DEMO_FLEET_FILE), 'utf8'))).toEqual({
      machines: 6,
      seed: 5,
    });
  });

  it('a rerun without --machines and --seed runs the same fleet: same enterprises, names and regions', async () => {
    const again = await demo(['--data-dir', dataDir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Wanji demo: 6 simulated machines in 3 enterprises');
    expect(again.stdout).toContain(`the one ${dataDir} holds`);
    expect(again.enterprises).toEqual(first.enterprises);
  });

  it('a rerun with the same --machines and --seed is the same fleet too', async () => {
    const again = await demo(['--machines', '6', '--seed', '5', '--data-dir', dataDir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.enterprises).toEqual(first.enterprises);
  });

  it('another --machines on the directory is refused, naming the directory and the fix', async () => {
    const other = await demo(['--machines', '12', '--data-dir', dataDir]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`${dataDir} holds the demo fleet of 6 machines (seed 5)`);
    expect(other.stderr).toContain('--machines 12 would make another fleet');
    expect(other.stderr).toContain('rerun without --machines and --seed');
    expect(other.stderr).toContain(`--data-dir ${dataDir}-12`);
    expect(other.stdout).not.toContain('Wanji demo:');
    const otherSeed = await demo(['--seed', '6', '--data-dir', dataDir]);
    expect(otherSeed.code).toBe(2);
    expect(otherSeed.stderr).toContain('--seed 6 would make another fleet');
    // Nothing was re-declared: the directory's fleet runs as before.
    const again = await demo(['--data-dir', dataDir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.enterprises).toEqual(first.enterprises);
  }, 120_000); // two refusals and a whole demo run, start to stop, beside other test files

  it('a directory whose registry holds the codes under other names (no record) is refused, naming them', async () => {
    // As a data directory of an older demo, or of a real hub, looks: enterprises but no record.
    rmSync(join(dataDir, DEMO_FLEET_FILE));
    const other = await demo(['--machines', '12', '--data-dir', dataDir]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`${dataDir} holds`);
    expect(other.stderr).toContain(`E001: holds ${first.enterprises[0]!.name}`);
    expect(other.stderr).toContain('Give a new --data-dir');
    expect(other.stdout).not.toContain('Wanji demo:');
  });
});
