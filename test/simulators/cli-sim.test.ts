import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { runSimCommand } from '../../cli/sim.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

function io(signal: AbortSignal = new AbortController().signal) {
  const out = sink();
  const err = sink();
  return {
    out,
    err,
    io: { stdout: out.stream, stderr: err.stream, logger: pino({ level: 'silent' }), signal },
  };
}

describe('wanji sim', () => {
  it('prints usage for --help', async () => {
    const t = io();
    expect(await runSimCommand(['--help'], t.io)).toBe(0);
    expect(t.out.text()).toMatch(/^Usage: wanji sim/);
  });

  it('rejects bad arguments with a clear message and exit code 2', async () => {
    for (const args of [
      ['--machines', 'ten'],
      ['--machines', '0'],
      ['--bogus'],
      ['--seed', '-1'],
      ['extra'],
    ]) {
      const t = io();
      expect(await runSimCommand(args, t.io), args.join(' ')).toBe(2);
      expect(t.err.text()).toMatch(/^wanji sim: [\s\S]+\nRun `wanji sim --help`/);
    }
    const t = io();
    await runSimCommand(['--machines', '4', '--enterprises', '9'], t.io);
    expect(t.err.text()).toMatch(/--enterprises must be an integer 1\.\.4/);
  });

  it('runs a fleet, prints one JSON line per enterprise and stops on abort', async () => {
    const controller = new AbortController();
    const t = io(controller.signal);
    const done = runSimCommand(['--machines', '6', '--seed', '3', '--enterprises', '2'], t.io);
    const end = Date.now() + 20_000;
    while (t.out.text().split('\n').length < 3 && Date.now() < end)
      await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    expect(await done).toBe(0);
    const lines = t.out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.enterprise.code)).toEqual(['E001', 'E002']);
    for (const l of lines) {
      expect(l.machines.length).toBeGreaterThan(0);
      expect(l.endpoints.modbus.length + (l.endpoints.opcua ? 1 : 0)).toBeGreaterThan(0);
    }
  });
});
