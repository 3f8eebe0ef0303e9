/**
 * The journal writes its frames byte by byte into a reused buffer (format.ts FrameWriter). What
 * lands in the segment file must be exactly what the format defines: per frame, the
 * JSON.stringify text of the record's tuple after its length and CRC, so journals written before
 * and after that change stay readable by either.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../../gateway/journal/index.js';
import type { MetricUpdate, MetricValue } from '../../protocol/index.js';
import { QUALITIES, QUALITY_RANK } from '../../protocol/quality.js';

const logger = pino({ level: 'silent' });

/** The format's definition of a frame, written the plain way. */
function referenceFrame(
  position: number,
  deviceId: string,
  at: number,
  metrics: readonly MetricUpdate[],
): Buffer {
  const value = (v: MetricValue): unknown => {
    if (typeof v === 'number') return Number.isFinite(v) ? v : { f: String(v) };
    if (typeof v === 'bigint') return { i: v.toString() };
    if (v instanceof Uint8Array) return { x: Buffer.from(v).toString('base64') };
    return v;
  };
  const body = Buffer.from(
    JSON.stringify([
      position,
      deviceId,
      at,
      metrics.map((m) => [m.name, value(m.value), QUALITY_RANK[m.quality], m.timestamp]),
    ]),
  );
  const head = Buffer.alloc(8);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([head, body]);
}

const VALUES: MetricValue[] = [
  0,
  -0,
  7,
  -12,
  99,
  100,
  1e8 - 1,
  1e8,
  100_000_001,
  -100_000_000,
  2 ** 53 - 1,
  -(2 ** 53) + 1,
  2 ** 53,
  1e21,
  0.1,
  1.5e-7,
  5e-324,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  12n,
  -(2n ** 63n),
  'text "quoted" \\ \u2028 é 中 😀',
  '',
  'x'.repeat(70_000),
  true,
  false,
  null,
  new Uint8Array([0, 1, 255]),
];

describe('journal frame bytes', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('are the JSON text of each record, for every kind of value, name, time and append time', () => {
    dir = mkdtempSync(join(tmpdir(), 'wanji-frame-bytes-'));
    let now = 0;
    // One segment for everything, so the file is the frames one after the other.
    const journal = new Journal({
      dir,
      logger,
      now: () => now,
      segmentBytes: 64 * 1024 ** 2,
      maxBytes: 1024 ** 3,
    });
    const want: Buffer[] = [];
    for (let k = 0; k < 300; k++) {
      const metrics: MetricUpdate[] = Array.from({ length: k % 41 }, (_, i) => ({
        name: i % 2 === 0 ? 'State' : `Signals/t${i}é"${'y'.repeat(i)}`,
        value: VALUES[(k + i) % VALUES.length]!,
        quality: QUALITIES[(k + i) % 3]!,
        // Runs of equal times (a poll's metrics share one), and odd ones.
        timestamp:
          k % 5 === 0 ? (i % 2 === 0 ? Number.NaN : 1.7e12) : i % 3 === 0 ? -5 - i : 1_796_551_225_884 + k,
      }));
      now = k % 2 === 0 ? 1_796_551_225_884 + k : 1_796_551_225_884.5 + k;
      const deviceId = k % 3 === 0 ? 'M"中' : 'M00001';
      const position = journal.append(deviceId, metrics);
      expect(position).toBe(k + 1);
      want.push(referenceFrame(k + 1, deviceId, now, metrics));
    }
    journal.close();
    const [segment] = readdirSync(dir).filter((f) => f.endsWith('.seg'));
    const bytes = readFileSync(join(dir, segment!));
    const expected = Buffer.concat(want);
    expect(bytes.length).toBe(expected.length);
    expect(bytes.equals(expected)).toBe(true);
  });
});
