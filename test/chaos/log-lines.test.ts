/** The log tails a failing chaos test prints: pino JSON lines made readable. */
import { describe, expect, it } from 'vitest';
import { compactLogLine } from '../support/wanji-process.js';

describe('compactLogLine', () => {
  it('keeps time, level, component, message, the error message and code, and other keys, not the stack', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 10, 27, 17, 3, 29, 610),
      cmd: 'hub',
      component: 'ingest',
      err: {
        type: 'StoreError',
        message: 'connect ECONNREFUSED',
        stack: 'StoreError: …\n at x',
        code: 'WANJI_E_X',
      },
      samples: 500,
      msg: 'store write failed again',
    });
    expect(compactLogLine(line)).toBe(
      '17:03:29.610 WARN [ingest] store write failed again err="connect ECONNREFUSED" code=WANJI_E_X samples=500',
    );
  });

  it('leaves a line that is not JSON as it is', () => {
    expect(compactLogLine('wanji hub: could not start')).toBe('wanji hub: could not start');
  });
});
