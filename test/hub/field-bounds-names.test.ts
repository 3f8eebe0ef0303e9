/**
 * Issue 9: the names and times a gateway sends, as pure rules (protocol's invalidIdReason and
 * invalidMetricNameReason, the host's timeRefusal and exceedsUtf8). field-bounds.test.ts checks
 * that a real hub applies them.
 */
import { describe, expect, it } from 'vitest';
import { resolveHubConfig } from '../../hub/config.js';
import { DEFAULT_HOST_LIMITS, exceedsUtf8, timeRefusal } from '../../hub/host/bounds.js';
import {
  invalidIdReason,
  invalidMetricNameReason,
  MAX_ID_LENGTH,
  MAX_METRIC_NAME_LENGTH,
  parseTopic,
} from '../../protocol/index.js';

describe('Sparkplug ids and metric names', () => {
  it('accepts the ids gateways, simulators and ledgers use', () => {
    for (const id of [
      'E001',
      'GW-E001-1',
      'E001-CNC-001',
      '91330782MA2XXXXX1X',
      '金华精密',
      'a.b_c',
      'x'.repeat(64),
    ]) {
      expect(invalidIdReason(id), id).toBeUndefined();
    }
    for (const name of [
      'State',
      'Signals/spindleSpeed',
      'Properties/Data Depth',
      'Node Control/Rebirth',
      '主轴/转速',
    ]) {
      expect(invalidMetricNameReason(name), name).toBeUndefined();
    }
  });

  it.each([
    ['\u202E', 'bidirectional', 'U+202E'],
    ['\u202A', 'bidirectional', 'U+202A'],
    ['\u2066', 'bidirectional', 'U+2066'],
    ['\u2069', 'bidirectional', 'U+2069'],
    ['\u200E', 'bidirectional', 'U+200E'],
    ['\u200F', 'bidirectional', 'U+200F'],
    ['\u061C', 'bidirectional', 'U+061C'],
    ['\u200B', 'invisible', 'U+200B'],
    ['\u200C', 'invisible', 'U+200C'],
    ['\u200D', 'invisible', 'U+200D'],
    ['\u2060', 'invisible', 'U+2060'],
    ['\uFEFF', 'invisible', 'U+FEFF'],
    ['\u0000', 'control', 'U+0000'],
    ['\u001B', 'control', 'U+001B'],
    ['\u007F', 'control', 'U+007F'],
    ['\u0085', 'control', 'U+0085'],
    ['\u2028', 'line separator', 'U+2028'],
  ])('refuses an id or metric name holding %j, naming it without echoing it', (c, kind, code) => {
    for (const reason of [invalidIdReason(`E00${c}1`), invalidMetricNameReason(`Signals/a${c}b`)]) {
      expect(reason).toContain(kind);
      expect(reason).toContain(code);
      expect(reason).not.toContain(c);
    }
  });

  it('limits lengths: ids to MAX_ID_LENGTH characters, metric names to MAX_METRIC_NAME_LENGTH', () => {
    expect(MAX_ID_LENGTH).toBe(64);
    expect(invalidIdReason('x'.repeat(65))).toMatch(/longer than 64 characters/);
    // Characters, not UTF-16 units or bytes: 64 astral characters are a valid id.
    expect(invalidIdReason('𝐀'.repeat(64))).toBeUndefined();
    expect(invalidIdReason('𝐀'.repeat(65))).toMatch(/longer than 64/);
    expect(invalidMetricNameReason('n'.repeat(MAX_METRIC_NAME_LENGTH))).toBeUndefined();
    expect(invalidMetricNameReason('n'.repeat(MAX_METRIC_NAME_LENGTH + 1))).toMatch(/longer than 256/);
    expect(invalidMetricNameReason('x'.repeat(1_000_000))).toMatch(/longer than 256 characters \(x{24}…\)$/);
    expect(invalidMetricNameReason('')).toBe('is empty');
  });

  it('keeps what it refused before: empty ids and the MQTT characters', () => {
    expect(invalidIdReason('')).toBe('is empty');
    expect(invalidIdReason('GW/1')).toBe('"GW/1" contains one of the MQTT characters + # /');
    expect(invalidIdReason('a+b')).toMatch(/MQTT characters/);
    expect(invalidIdReason('a\u0001b')).toMatch(/control character/);
  });

  it('refuses a topic whose device id is invalid, with the reason', () => {
    const r = parseTopic('spBv1.0/E1/DBIRTH/GW-1/m\u202E1');
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/^device id .*U\+202E/) });
  });
});

describe('time and size bounds', () => {
  const now = 1_800_000_000_000;
  const limits = DEFAULT_HOST_LIMITS;

  it("a host built without a config uses the config's defaults", () => {
    expect(DEFAULT_HOST_LIMITS).toEqual(resolveHubConfig({ dataDir: '/tmp/x' }).limits);
  });

  it('accepts times within the future skew and the past age', () => {
    for (const ts of [now, now + limits.maxFutureSkewMs, now - limits.maxPastMs, now - 86_400_000]) {
      expect(timeRefusal(ts, now, limits), String(ts)).toBeUndefined();
    }
  });

  it('refuses times beyond them, and what is not a time', () => {
    expect(timeRefusal(now + limits.maxFutureSkewMs + 1, now, limits)).toMatch(/maxFutureSkewMs.*ahead/);
    expect(timeRefusal(8.64e15, now, limits)).toMatch(/ahead/);
    expect(timeRefusal(now - limits.maxPastMs - 1, now, limits)).toMatch(/maxPastMs.*behind/);
    for (const ts of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(timeRefusal(ts, now, limits)).toBe('not a time');
  });

  it('measures strings in UTF-8 bytes', () => {
    expect(exceedsUtf8('x'.repeat(64), 64)).toBe(false);
    expect(exceedsUtf8('x'.repeat(65), 64)).toBe(true);
    expect(exceedsUtf8('程'.repeat(21), 64)).toBe(false); // 63 bytes
    expect(exceedsUtf8('程'.repeat(22), 64)).toBe(true); // 66 bytes
    expect(exceedsUtf8('😀'.repeat(16), 64)).toBe(false); // 64 bytes
    expect(exceedsUtf8('😀'.repeat(17), 64)).toBe(true);
  });
});
