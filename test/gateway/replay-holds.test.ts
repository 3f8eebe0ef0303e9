import { describe, expect, it } from 'vitest';
import { ReplayHolds } from '../../gateway/northbound/replay-holds.js';

describe('ReplayHolds', () => {
  it('waits for a machine that is not born, then has it announced, and lists it at the end', () => {
    let now = 1000;
    const holds = new ReplayHolds(() => now, 15_000);
    expect(holds.decide('m1', true)).toBe('ready');
    expect(holds.decide('m2', false)).toBe('wait');
    now += 14_999;
    expect(holds.decide('m2', false)).toBe('wait');
    now += 1;
    expect(holds.decide('m2', false)).toBe('announce');
    expect(holds.decide('m3', false)).toBe('wait');
    expect(holds.finish()).toEqual(['m2']);
    expect(holds.decide('m3', false)).toBe('wait'); // finish() started over
  });

  it('forgets a machine once it is born for real: it is not declared dead after the replay', () => {
    let now = 0;
    const holds = new ReplayHolds(() => now, 10);
    holds.decide('m1', false);
    now = 20;
    expect(holds.decide('m1', false)).toBe('announce');
    holds.forget('m1');
    expect(holds.finish()).toEqual([]);
  });
});
