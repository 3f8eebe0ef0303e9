import { describe, expect, it } from 'vitest';
import {
  buildTopic,
  commandFilters,
  deviceTopic,
  nodeTopic,
  parseTopic,
  type SparkplugTopic,
  stateTopic,
  TopicParser,
} from '../../protocol/index.js';

describe('Sparkplug topics', () => {
  it('builds and parses node, device and STATE topics', () => {
    const topics: SparkplugTopic[] = [
      { kind: 'node', group: 'E001', type: 'NBIRTH', edgeNode: 'GW-1' },
      { kind: 'node', group: 'E001', type: 'NDEATH', edgeNode: 'GW-1' },
      { kind: 'node', group: 'E001', type: 'NDATA', edgeNode: 'GW-1' },
      { kind: 'node', group: 'E001', type: 'NCMD', edgeNode: 'GW-1' },
      { kind: 'device', group: 'E001', type: 'DBIRTH', edgeNode: 'GW-1', device: 'E001-CNC-001' },
      { kind: 'device', group: 'E001', type: 'DDEATH', edgeNode: 'GW-1', device: 'E001-CNC-001' },
      { kind: 'device', group: 'E001', type: 'DDATA', edgeNode: 'GW-1', device: '机床 7' },
      { kind: 'device', group: 'E001', type: 'DCMD', edgeNode: 'GW-1', device: 'x' },
      { kind: 'state', hostId: 'wanji-hub' },
    ];
    for (const t of topics) {
      const s = buildTopic(t);
      expect(parseTopic(s)).toEqual({ ok: true, topic: t });
    }
    expect(nodeTopic('G', 'NBIRTH', 'N')).toBe('spBv1.0/G/NBIRTH/N');
    expect(deviceTopic('G', 'DDATA', 'N', 'D')).toBe('spBv1.0/G/DDATA/N/D');
    expect(stateTopic('h')).toBe('spBv1.0/STATE/h');
    expect(commandFilters('G', 'N')).toEqual(['spBv1.0/G/NCMD/N', 'spBv1.0/G/DCMD/N/+']);
  });

  it.each([
    ['spAv1.0/G/NBIRTH/N', /namespace/],
    ['spBv1.0/G/NBIRTH', /too few levels/],
    ['spBv1.0/G/NBIRTH/N/D', /takes no device id/],
    ['spBv1.0/G/DDATA/N', /needs exactly one device id/],
    ['spBv1.0/G/DDATA/N/D/extra', /needs exactly one device id/],
    ['spBv1.0/G/NFOO/N', /unknown message type "NFOO"/],
    ['spBv1.0//NBIRTH/N', /group id is empty/],
    ['spBv1.0/G/NBIRTH/', /edge node id is empty/],
    ['spBv1.0/G/DBIRTH/N/', /device id is empty/],
    ['spBv1.0/G+/NBIRTH/N', /group id .* MQTT characters/],
    ['spBv1.0/STATE', /STATE topic is/],
    ['spBv1.0/STATE/a/b', /STATE topic is/],
    ['spBv1.0/G/NDATA/N\u0001', /control character/],
  ])('rejects %s with a reason', (topic, reason) => {
    const r = parseTopic(topic);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('refuses to build a topic from an id that is not a Sparkplug id', () => {
    expect(() => nodeTopic('E/1', 'NBIRTH', 'N')).toThrow(/group id/);
    expect(() => deviceTopic('E', 'DDATA', 'N', 'a#b')).toThrow(/device id/);
    expect(() => stateTopic('')).toThrow(/host id: is empty/);
  });
});

describe('TopicParser', () => {
  it('answers as parseTopic does, the same object for a topic seen before, malformed ones never kept', () => {
    const parser = new TopicParser(3);
    const topics = [
      'spBv1.0/acme/DDATA/gw1/cnc-1',
      'spBv1.0/acme/NDATA/gw1',
      'spBv1.0/STATE/hub',
      'spBv1.0/acme/DDATA/gw1',
      'spBv1.0/a+b/DDATA/gw1/cnc-1',
      'other/acme/DDATA/gw1/cnc-1',
    ];
    for (const t of topics) expect(parser.parse(t)).toEqual(parseTopic(t));
    const first = parser.parse(topics[0]!);
    expect(parser.parse(`spBv1.0/acme/DDATA/gw1/${'cnc-1'}`)).toBe(first);
    expect(parser.size).toBe(3);
    // Full: it starts over, and still answers right.
    expect(parser.parse('spBv1.0/acme/DDATA/gw1/cnc-2')).toEqual(parseTopic('spBv1.0/acme/DDATA/gw1/cnc-2'));
    expect(parser.size).toBe(1);
    expect(parser.parse(topics[0]!)).toEqual(first);
  });

  it("answers a node's and a device's every topic as parseTopic does once their ids are shared", () => {
    const parser = new TopicParser();
    const topics = ['DBIRTH', 'DDATA', 'DDEATH', 'DCMD'].flatMap((type) => [
      `spBv1.0/acme/${type}/gw1/cnc-1`,
      `spBv1.0/acme/${type}/gw1/cnc-2`,
      `spBv1.0/acme/${type}/gw2/cnc-1`,
      `spBv1.0/beta/${type}/gw1/cnc-1`,
    ]);
    topics.push('spBv1.0/acme/NBIRTH/gw1', 'spBv1.0/acme/NDATA/gw1', 'spBv1.0/beta/NDEATH/gw2');
    for (const t of topics) expect(parser.parse(t)).toEqual(parseTopic(t));
    for (const t of topics) expect(parser.parse(t)).toEqual(parseTopic(t));
  });
});
