/**
 * Issue 10: stopping `wanji demo` printed "write after end" stack traces (a gateway's MQTT
 * client answering a message after its stream ended), and under load a SIGTERM took over 40 s
 * and a second signal (gateways closed one after another; a stop during start-up waited for
 * the whole fleet to start). The demo runs as an operator runs it, as a child process from
 * the built package; it must exit 0 within 10 s of SIGTERM, saying nothing alarming.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../hub/helpers.js';
import { assertBuilt } from '../support/wanji-process.js';
import { alarmingLines, Child } from './demo-stop-child.js';

function demo(dataDir: string, machines: number, extra: string[] = []): Child {
  return new Child([
    'demo',
    '--machines',
    String(machines),
    '--http-port',
    '0',
    '--mqtt-port',
    '0',
    '--data-dir',
    dataDir,
    ...extra,
  ]);
}

/** The processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (new RegExp(`^PPid:\\s+${pid}$`, 'm').test(status)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe('stopping wanji demo (issue 10)', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  assertBuilt();

  /** A demo of `machines` in `name`, once all are networked (killed, with its output, if not). */
  async function networked(
    name: string,
    machines: number,
    withinMs: number,
    extra: string[] = [],
  ): Promise<Child> {
    const d = demo(join(dir.path, name), machines, extra);
    await waitFor(
      () => !d.running || d.out.includes(`networked ${machines}/${machines},`),
      `all ${machines} machines networked`,
      withinMs,
    ).catch((err: unknown) => {
      d.child.kill('SIGKILL');
      throw new Error(`${String(err)}\n${d.output()}`);
    });
    expect(d.running, d.output()).toBe(true);
    return d;
  }

  /** A demo with its simulators and gateways in children, networked, and those children. */
  async function networkedWithChildren(name: string): Promise<{ d: Child; children: number[] }> {
    const d = await networked(name, 40, 90_000, ['--sim-processes', '1', '--gateway-processes', '2']);
    const children = childrenOf(d.child.pid!);
    expect(children.length, d.output()).toBe(3);
    return { d, children };
  }

  async function networkedThenStopped(machines: number, networkedWithinMs: number): Promise<void> {
    const d = await networked(`demo-${machines}`, machines, networkedWithinMs);
    const result = await d.stop(['SIGTERM'], 10_000);
    expect(result, d.output()).toEqual({ code: 0, signal: null });
    expect(d.out).toContain('Stopping…');
    expect(alarmingLines(`${d.out}\n${d.err}`), d.output()).toEqual([]);
  }

  it('a small fleet, all machines networked: SIGTERM exits 0 within 10 s, no stack trace', async () => {
    await networkedThenStopped(12, 60_000);
  });

  it('under load (500 machines, 10 gateways): SIGTERM exits 0 within 10 s, no stack trace', async () => {
    await networkedThenStopped(500, 150_000);
  }, 240_000);

  it('simulators and gateways in child processes: all networked, SIGTERM exits 0 within 10 s and ends every child', async () => {
    const { d, children } = await networkedWithChildren('demo-children');
    const result = await d.stop(['SIGTERM'], 10_000);
    expect(result, d.output()).toEqual({ code: 0, signal: null });
    expect(alarmingLines(`${d.out}\n${d.err}`), d.output()).toEqual([]);
    await waitFor(() => children.every((pid) => !existsSync(`/proc/${pid}`)), 'every child gone', 10_000);
  }, 150_000);

  it('a demo killed outright leaves no child behind: orphaned simulators and gateways end by themselves', async () => {
    const { d, children } = await networkedWithChildren('demo-orphans');
    d.child.kill('SIGKILL');
    await d.exited;
    // Their parent is gone (the hub too): each closes what it runs and exits, within its grace.
    await waitFor(() => children.every((pid) => !existsSync(`/proc/${pid}`)), 'every orphan gone', 20_000);
  }, 150_000);

  it('SIGTERM during start-up stops it within 10 s, without waiting for the fleet', async () => {
    const d = demo(join(dir.path, 'demo-starting'), 500);
    // The hub is up (its data directory's admin token printed) long before 500 machines are.
    await waitFor(
      () => !d.running || d.err.length > 0 || d.out.length > 0,
      'the demo to say something',
      60_000,
    );
    const result = await d.stop(['SIGTERM'], 10_000);
    expect(result, d.output()).toEqual({ code: 0, signal: null });
    expect(alarmingLines(`${d.out}\n${d.err}`), d.output()).toEqual([]);
  }, 120_000);

  it('a second signal exits at once, saying so', async () => {
    const d = demo(join(dir.path, 'demo-twice'), 12);
    await waitFor(
      () => !d.running || d.out.includes('networked 12/12,'),
      'all 12 machines networked',
      60_000,
    );
    const result = await d.stop(['SIGTERM', 'SIGINT'], 10_000);
    expect(result, d.output()).toEqual({ code: 130, signal: null });
    // The two signals may be handled in either order.
    expect(d.err).toMatch(/wanji: second SIG(INT|TERM), exiting now/);
  });

  it('wanji hub alone exits 0 within 10 s of SIGTERM', async () => {
    const hub = new Child([
      'hub',
      '--data-dir',
      join(dir.path, 'hub'),
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
    ]);
    await waitFor(() => !hub.running || hub.err.includes('"hub started"'), 'the hub to start', 60_000);
    const result = await hub.stop(['SIGTERM'], 10_000);
    expect(result, hub.output()).toEqual({ code: 0, signal: null });
    expect(alarmingLines(`${hub.out}\n${hub.err}`), hub.output()).toEqual([]);
  });
});
