/** The gateway topic ACL as pure functions: the precomputed fast path agrees with the parser. */
import { describe, expect, it } from 'vitest';
import {
  allowedFilters,
  checkPublish,
  checkSubscribe,
  checkWill,
  publishRule,
} from '../../hub/security/mqtt-acl.js';

const g = { group: 'E1', node: 'GW-1' };
const rule = publishRule(g);

describe('gateway publish ACL', () => {
  const allowed = [
    'spBv1.0/E1/NBIRTH/GW-1',
    'spBv1.0/E1/NDATA/GW-1',
    'spBv1.0/E1/NDEATH/GW-1',
    'spBv1.0/E1/DBIRTH/GW-1/M1',
    'spBv1.0/E1/DDATA/GW-1/CNC 01',
    'spBv1.0/E1/DDEATH/GW-1/注塑机-3',
  ];
  const refused: [string, RegExp][] = [
    ['spBv1.0/E1/NDATA/GW-10', /belongs to E1\/GW-10/],
    ['spBv1.0/E1/DDATA/GW-10/M1', /belongs to E1\/GW-10/],
    ['spBv1.0/E2/NDATA/GW-1', /belongs to E2\/GW-1/],
    ['spBv1.0/E1/NCMD/GW-1', /does not publish NCMD/],
    ['spBv1.0/E1/DCMD/GW-1/M1', /does not publish DCMD/],
    ['spBv1.0/STATE/wanji-hub', /only the hub publishes it/],
    ['spBv1.0/E1/DDATA/GW-1/', /device id is empty/],
    ['spBv1.0/E1/DDATA/GW-1/M1/extra', /exactly one device id/],
    ['spBv1.0/E1/DDATA/GW-1/M\u00011', /control character/],
    ['spBv1.0/E1/NDATA/GW-1/M1', /takes no device id/],
    ['factory/secrets', /not a Sparkplug edge node topic/],
  ];

  it.each(allowed)('allows %s, with and without the precomputed rule', (topic) => {
    expect(checkPublish(g, topic, false, rule)).toBeUndefined();
    expect(checkPublish(g, topic, false)).toBeUndefined();
  });

  it.each(refused)('refuses %s with the reason', (topic, reason) => {
    expect(checkPublish(g, topic, false, rule)).toMatch(reason);
    expect(checkPublish(g, topic, false)).toMatch(reason);
  });

  it('refuses its own topics retained', () => {
    expect(checkPublish(g, 'spBv1.0/E1/NDATA/GW-1', true, rule)).toMatch(/retained publishes are refused/);
    expect(checkPublish(g, 'spBv1.0/E1/DDATA/GW-1/M1', true, rule)).toMatch(/retained/);
  });
});

describe('gateway will and subscribe ACL', () => {
  it('takes only its own NDEATH, not retained, as the will', () => {
    expect(checkWill(g, 'spBv1.0/E1/NDEATH/GW-1', false)).toBeUndefined();
    expect(checkWill(g, 'spBv1.0/E1/NDEATH/GW-2', false)).toMatch(/must be the gateway's own NDEATH/);
    expect(checkWill(g, 'spBv1.0/E1/NDEATH/GW-1', true)).toMatch(/must not be retained/);
  });

  it('lets it subscribe to its own commands and the host STATE only', () => {
    const filters = allowedFilters(g, 'wanji-hub');
    expect(filters).toEqual([
      'spBv1.0/E1/NCMD/GW-1',
      'spBv1.0/E1/DCMD/GW-1/+',
      'spBv1.0/E1/DCMD/GW-1/#',
      'spBv1.0/STATE/wanji-hub',
    ]);
    for (const f of [...filters, 'spBv1.0/E1/DCMD/GW-1/M7'])
      expect(checkSubscribe(g, f, filters)).toBeUndefined();
    for (const f of [
      'spBv1.0/E1/NCMD/GW-10',
      'spBv1.0/E1/DCMD/+/+',
      'spBv1.0/E1/+/GW-1',
      'spBv1.0/STATE/+',
      'spBv1.0/E1/NDATA/GW-1',
      '$SYS/#',
    ]) {
      expect(checkSubscribe(g, f, filters)).toMatch(/outside this credential's commands and STATE/);
    }
  });
});
