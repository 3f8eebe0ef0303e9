import { describe, expect, it } from 'vitest';
import {
  BdSeqCounter,
  decodeHostState,
  dominantState,
  encodeHostState,
  nextSeq,
  SeqCounter,
  seqGap,
} from '../../protocol/index.js';

describe('Sparkplug sequence numbers', () => {
  it('seq starts at 0 with each birth and wraps 255 → 0', () => {
    const c = new SeqCounter();
    expect(c.birth()).toBe(0);
    const seen: number[] = [];
    for (let i = 0; i < 300; i++) seen.push(c.next());
    expect(seen[0]).toBe(1);
    expect(seen[254]).toBe(255);
    expect(seen[255]).toBe(0);
    expect(seen[256]).toBe(1);
    expect(c.birth()).toBe(0);
    expect(c.next()).toBe(1);
  });

  it('measures gaps across the wrap', () => {
    expect(seqGap(4, 5)).toBe(0);
    expect(seqGap(255, 0)).toBe(0);
    expect(seqGap(254, 1)).toBe(2);
    expect(seqGap(10, 13)).toBe(2);
    expect(nextSeq(255)).toBe(0);
  });

  it('bdSeq repeats for the will and the birth of one session, then advances and wraps', () => {
    const b = new BdSeqCounter(254);
    expect(b.current).toBe(254);
    expect(b.current).toBe(254); // will and NBIRTH of the same session agree
    expect(b.advance()).toBe(255);
    expect(b.advance()).toBe(0);
    expect(() => new BdSeqCounter(256)).toThrow(RangeError);
    expect(() => new BdSeqCounter(-1)).toThrow(RangeError);
  });
});

describe('STATE payload', () => {
  it('round-trips and rejects what is not a STATE', () => {
    expect(decodeHostState(encodeHostState({ online: true, timestamp: 123 }))).toEqual({
      online: true,
      timestamp: 123,
    });
    for (const bad of ['', 'ONLINE', '{"online":"yes","timestamp":1}', '{"online":true}', 'null', '[]']) {
      expect(decodeHostState(Buffer.from(bad))).toBeUndefined();
    }
  });
});

describe('machine state priority', () => {
  it('offline > alarm > running > idle > stopped > powered_off', () => {
    expect(dominantState(['idle', 'running', 'stopped'])).toBe('running');
    expect(dominantState(['running', 'alarm'])).toBe('alarm');
    expect(dominantState(['alarm', 'offline'])).toBe('offline');
    expect(dominantState(['powered_off', 'stopped'])).toBe('stopped');
    expect(dominantState([])).toBeUndefined();
  });
});
