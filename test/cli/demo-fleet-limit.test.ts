/**
 * Issue 13: `wanji demo` runs at most DEMO_MAX_MACHINES (what it really networks on one 2-core
 * machine) and refuses more with the reason and the fix, before starting anything; `wanji sim`
 * takes faults on its command line and serves them over HTTP.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_MAX_MACHINES, runDemoCommand } from '../../cli/demo.js';
import { runSimCommand } from '../../cli/sim.js';
import { tempDir, waitFor } from '../hub/helpers.js';
import { captureIo, runCommand } from '../support/cli-io.js';

describe('wanji demo --machines beyond what it runs (issue 13)', () => {
  it('refuses with the limit, the reason and the fix, and starts nothing', async () => {
    const dir = tempDir();
    try {
      const dataDir = join(dir.path, 'demo');
      const { code, err, out } = await runCommand(runDemoCommand, [
        '--machines',
        String(DEMO_MAX_MACHINES + 1),
        '--data-dir',
        dataDir,
        '--http-port',
        '0',
        '--mqtt-port',
        '0',
      ]);
      expect(code).toBe(2);
      expect(out).toBe('');
      expect(err).toContain(
        `--machines ${DEMO_MAX_MACHINES + 1} is more than the demo runs: at most ${DEMO_MAX_MACHINES}`,
      );
      expect(err).toMatch(/wanji sim --machines N/);
      expect(err).toMatch(/wanji gateway/);
      // Refused before the hub started: no registry was made.
      expect(existsSync(join(dataDir, 'registry.db'))).toBe(false);
    } finally {
      dir.remove();
    }
  });

  it('refuses a bad --fault and --sim-processes with usage', async () => {
    for (const args of [
      ['--fault', 'melt:E001'],
      ['--fault', 'offline'],
      ['--sim-processes', '-1'],
    ]) {
      const { code, err } = await runCommand(runDemoCommand, args);
      expect(code, args.join(' ')).toBe(2);
      expect(err).toMatch(/^wanji demo: /);
    }
  });
});

describe('wanji sim faults (issue 13)', () => {
  it('refuses a --part outside the fleet', async () => {
    for (const [args, message] of [
      [['--part', '3/2'], /--part must be K\/N with 1 ≤ K ≤ N/],
      [['--machines', '6', '--enterprises', '2', '--part', '1/3'], /splits into 1\.\.2 parts; got 3/],
    ] as const) {
      const { code, err } = await runCommand(runSimCommand, [...args]);
      expect(code, args.join(' ')).toBe(2);
      expect(err).toMatch(message);
    }
  });

  it('refuses power-loss, which needs gateways', async () => {
    const { code, err } = await runCommand(runSimCommand, ['--fault', 'power-loss:E001']);
    expect(code).toBe(2);
    expect(err).toMatch(/power-loss needs gateways: use it with wanji demo/);
  });

  it('starts with --fault in force and lists it on --faults-port', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const c = captureIo({ signal: controller.signal });
    const done = runSimCommand(
      [
        '--machines',
        '6',
        '--enterprises',
        '2',
        '--processes',
        '0',
        '--pki-dir',
        join(dir.path, 'pki'),
        '--part',
        '1/2',
        '--fault',
        'freeze:E001:600',
        '--faults-port',
        '0',
      ],
      c.io,
    );
    try {
      const url = await waitFor(
        () => /faults at (http:\/\/\S+)\n/.exec(c.err())?.[1],
        'the faults URL',
        30_000,
      );
      const faults = (await (await fetch(url)).json()) as { kind: string; target: string; matched: number }[];
      expect(faults).toMatchObject([{ kind: 'freeze', target: 'E001', seconds: 600 }]);
      expect(faults[0]!.matched).toBeGreaterThan(0);
      const added = await fetch(url, {
        method: 'POST',
        body: '{"kind":"offline","target":"all","seconds":5}',
      });
      expect(added.status).toBe(201);
      // Part 1 of 2: only E001's machines are served here.
      const served = c
        .out()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { enterprise: { code: string }; machines: unknown[] });
      expect(served.map((l) => l.enterprise.code)).toEqual(['E001']);
      expect(((await added.json()) as { matched: number }).matched).toBe(served[0]!.machines.length);
      expect(await (await fetch(url, { method: 'DELETE' })).json()).toEqual({ cleared: 2 });
    } finally {
      controller.abort();
      expect(await done).toBe(0);
      dir.remove();
    }
  }, 60_000);
});
