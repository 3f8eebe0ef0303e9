import { describe, expect, it } from 'vitest';
import { SimMachine } from '../../simulators/machine.js';
import { PROFILES, SIM_KINDS, type SimKind } from '../../simulators/profiles/index.js';
import { Random } from '../../simulators/random.js';
import { STATE_CODE, stateFromCode } from '../../simulators/state-code.js';

const COUNTER: Readonly<Record<SimKind, string>> = {
  cnc: 'partCount',
  injection: 'shotCount',
  press: 'strokes',
  loom: 'picks',
  robot: 'cycleCount',
};

function run(kind: SimKind, seed: number, ticks: number, stepMs = 1_000) {
  const m = new SimMachine({ id: `M-${kind}`, kind, seed });
  const out = [];
  for (let i = 0; i <= ticks; i++) {
    m.tick(1_700_000_000_000 + i * stepMs);
    out.push({ state: m.state, values: m.values() });
  }
  return out;
}

describe('random', () => {
  it('repeats for a seed and differs between seeds', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('profiles', () => {
  it('are deterministic for a seed and tick times, and differ between seeds', () => {
    for (const kind of SIM_KINDS) {
      expect(run(kind, 1, 300, 2_000), kind).toEqual(run(kind, 1, 300, 2_000));
      expect(run(kind, 1, 300, 2_000), kind).not.toEqual(run(kind, 2, 300, 2_000));
    }
  });

  it('reads do not change what comes next', () => {
    const a = new SimMachine({ id: 'a', kind: 'cnc', seed: 5 });
    const b = new SimMachine({ id: 'b', kind: 'cnc', seed: 5 });
    for (let t = 0; t < 100_000; t += 1_000) {
      a.tick(t);
      b.tick(t);
      for (let i = 0; i < 3; i++) a.values();
    }
    expect(a.values()).toEqual(b.values());
  });

  it('declare lowerCamelCase signals with the state code and stack light first', () => {
    for (const kind of SIM_KINDS) {
      const names = PROFILES[kind].signals.map((s) => s.name);
      expect(names.slice(0, 4)).toEqual(['state', 'lampRed', 'lampYellow', 'lampGreen']);
      expect(new Set(names).size).toBe(names.length);
      for (const n of names) expect(n).toMatch(/^[a-z][a-zA-Z0-9]*$/);
      expect(names).toContain(COUNTER[kind]);
      expect(names).toEqual(expect.arrayContaining(['alarmNumber', 'alarmText']));
    }
  });

  it('keep counters monotonic, moving only while running, and the state signals consistent', () => {
    for (const kind of SIM_KINDS) {
      for (const seed of [1, 2]) {
        const trace = run(kind, seed, 4 * 720, 5_000); // four hours, a tick every 5 s
        const seen = new Set<string>();
        for (let i = 1; i < trace.length; i++) {
          const prev = trace[i - 1]!;
          const cur = trace[i]!;
          const c0 = prev.values[COUNTER[kind]] as number;
          const c1 = cur.values[COUNTER[kind]] as number;
          expect(c1, `${kind} counter`).toBeGreaterThanOrEqual(c0);
          if (c1 > c0) expect(prev.state === 'running' || cur.state === 'running').toBe(true);
          const v = cur.values;
          seen.add(cur.state);
          expect(stateFromCode(v.state as number)).toBe(cur.state);
          expect(v.lampGreen).toBe(cur.state === 'running');
          expect(v.lampYellow).toBe(cur.state === 'idle');
          expect(v.lampRed).toBe(cur.state === 'alarm');
          if (cur.state === 'alarm') {
            expect(v.alarmNumber as number).toBeGreaterThan(0);
            expect((v.alarmText as string).length).toBeGreaterThan(0);
          } else {
            expect([v.alarmNumber, v.alarmText]).toEqual([0, '']);
          }
        }
        expect(seen.size, `${kind}/${seed} visits several states`).toBeGreaterThanOrEqual(3);
      }
    }
  });

  it('drift barrel temperatures towards set point when on, ambient when off', () => {
    const m = new SimMachine({ id: 'imm', kind: 'injection', seed: 9 });
    m.tick(0);
    m.setState('running');
    m.pause();
    m.resume();
    const t0 = m.values().barrelTemp2 as number;
    m.setState('powered_off');
    for (let t = 1_000; t <= 3_600_000; t += 10_000) {
      m.tick(t);
      if (m.state !== 'powered_off') m.setState('powered_off');
    }
    const t1 = m.values().barrelTemp2 as number;
    expect(t1).toBeLessThan(t0);
    expect(t1).toBeLessThan(60);
  });
});

describe('SimMachine', () => {
  it('exposes signals by data depth', () => {
    const names = (depth: 'state' | 'state+count' | 'full') =>
      new SimMachine({ id: 'x', kind: 'press', seed: 1, dataDepth: depth }).signals.map((s) => s.name);
    expect(names('state')).toEqual(['state', 'lampRed', 'lampYellow', 'lampGreen']);
    expect(names('state+count')).toEqual(['state', 'lampRed', 'lampYellow', 'lampGreen', 'strokes']);
    expect(names('full').length).toBeGreaterThan(5);
    const m = new SimMachine({ id: 'x', kind: 'press', seed: 1, dataDepth: 'state' });
    expect(Object.keys(m.values())).toEqual(names('state'));
    expect(m.value('tonnage')).toBeUndefined();
  });

  it('pins values with type checks', () => {
    const m = new SimMachine({ id: 'x', kind: 'cnc', seed: 1 });
    m.setSignal('spindleSpeed', 1500);
    m.setSignal('lampRed', true);
    expect(m.values().spindleSpeed).toBe(1500);
    expect(() => m.setSignal('partCount', -1)).toThrow(/out of range/);
    expect(() => m.setSignal('partCount', 1.5)).toThrow(/integer/);
    expect(() => m.setSignal('mode', 3)).toThrow(/string/);
    expect(() => m.setSignal('nope', 3)).toThrow(/no signal/);
    m.clearSignal('spindleSpeed');
    expect(m.values().lampRed).toBe(true);
  });

  it('stops evolving while paused and does not replay the paused time', () => {
    const m = new SimMachine({ id: 'x', kind: 'loom', seed: 3 });
    m.tick(0);
    m.setState('running');
    m.pause();
    const before = m.values();
    m.tick(600_000);
    expect(m.values()).toEqual(before);
    m.resume();
    m.tick(601_000);
    expect((m.values().picks as number) - (before.picks as number)).toBeLessThan(20);
  });

  it('uses one state code table', () => {
    expect(STATE_CODE).toEqual({ powered_off: 0, stopped: 1, idle: 2, running: 3, alarm: 4 });
    expect(stateFromCode(5)).toBeUndefined();
  });
});
