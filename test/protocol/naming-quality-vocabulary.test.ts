import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Journal } from '../../gateway/journal/index.js';
import {
  deviceTopic,
  edgeNodeOf,
  gatewayOf,
  gatewayOfConfig,
  gatewayTopic,
  isQuality,
  machineOf,
  machineOnGatewayOf,
  machineTopic,
  nodeTopic,
  OPC_DA_QUALITY,
  parseTopic,
  QUALITIES,
  QUALITY_RANK,
  qualityFromCode,
  qualityFromRank,
} from '../../protocol/index.js';

describe('Sparkplug ids and the programme ids (protocol/naming.ts)', () => {
  it('reads a device topic as the machine, its enterprise and its gateway', () => {
    const parsed = parseTopic('spBv1.0/E001/DDATA/gw-1/M7');
    if (!parsed.ok || parsed.topic.kind !== 'device') throw new Error('a device topic');
    expect(machineOf(parsed.topic)).toEqual({ enterprise: 'E001', machine: 'M7' });
    expect(machineOnGatewayOf(parsed.topic)).toEqual({ enterprise: 'E001', machine: 'M7', gateway: 'gw-1' });
    expect(gatewayOf(parsed.topic)).toEqual({ enterprise: 'E001', gateway: 'gw-1' });
  });

  it("builds a gateway's topics from its config ids, the same strings as the Sparkplug builders", () => {
    const g = gatewayOfConfig({ group: 'E001', node: 'gw-1' });
    expect(g).toEqual({ enterprise: 'E001', gateway: 'gw-1' });
    expect(edgeNodeOf(g)).toEqual({ group: 'E001', edgeNode: 'gw-1' });
    expect(gatewayTopic(g, 'NBIRTH')).toBe(nodeTopic('E001', 'NBIRTH', 'gw-1'));
    expect(machineTopic(g, 'DDATA', 'M7')).toBe(deviceTopic('E001', 'DDATA', 'gw-1', 'M7'));
    expect(machineTopic(g, 'DDATA', 'M7')).toBe('spBv1.0/E001/DDATA/gw-1/M7');
  });

  it('refuses a machine id that cannot be a Sparkplug device id, as deviceTopic does', () => {
    const g = gatewayOfConfig({ group: 'E001', node: 'gw-1' });
    expect(() => machineTopic(g, 'DDATA', 'a/b')).toThrow(/invalid Sparkplug device id/);
  });
});

describe('quality and its two encodings (protocol/quality.ts)', () => {
  it('keeps the storage rank 0 good, 1 uncertain, 2 bad, and reads anything else as bad', () => {
    expect(QUALITY_RANK).toEqual({ good: 0, uncertain: 1, bad: 2 });
    for (const q of QUALITIES) expect(qualityFromRank(QUALITY_RANK[q])).toBe(q);
    for (const r of [3, -1, 1.5, Number.NaN]) expect(qualityFromRank(r)).toBe('bad');
  });

  it('keeps the OPC DA codes 192 good, 64 uncertain, 0 bad on the wire', () => {
    expect(OPC_DA_QUALITY).toEqual({ good: 192, uncertain: 64, bad: 0 });
    for (const q of QUALITIES) expect(qualityFromCode(OPC_DA_QUALITY[q])).toBe(q);
  });

  it('tells a quality from any other string', () => {
    expect(QUALITIES.every(isQuality)).toBe(true);
    for (const v of ['Good', 'stale', '', 0, null, undefined]) expect(isQuality(v)).toBe(false);
  });

  it('writes the journal quality as its storage rank (the on-disk format is unchanged)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wanji-quality-rank-'));
    try {
      const journal = new Journal({
        dir,
        logger: pino({ level: 'silent' }),
        now: () => 2000,
        fsyncIntervalMs: 0,
      });
      const metrics = QUALITIES.map((quality, i) => ({
        name: `Signals/t${i}`,
        value: i,
        quality,
        timestamp: 1000 + i,
      }));
      expect(journal.append('M7', metrics)).toBe(1);
      const segment = readdirSync(dir).find((f) => f.endsWith('.seg'));
      if (segment === undefined) throw new Error('no segment written');
      const frame = readFileSync(join(dir, segment));
      const body = frame.subarray(8, 8 + frame.readUInt32LE(0));
      const [, deviceId, , stored] = JSON.parse(body.toString('utf8')) as [number, string, number, unknown];
      expect(deviceId).toBe('M7');
      expect(stored).toEqual([
        ['Signals/t0', 0, 0, 1000],
        ['Signals/t1', 1, 1, 1001],
        ['Signals/t2', 2, 2, 1002],
      ]);
      expect(journal.read(1, 1)[0]?.metrics).toEqual(metrics);
      journal.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
