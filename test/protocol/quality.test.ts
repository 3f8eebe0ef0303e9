import { describe, expect, it } from 'vitest';
import { OPC_DA_QUALITY, qualityFromCode } from '../../protocol/index.js';

describe('quality codes', () => {
  it('reads the OPC DA codes the gateway writes back to the same quality', () => {
    for (const q of ['good', 'uncertain', 'bad'] as const) expect(qualityFromCode(OPC_DA_QUALITY[q])).toBe(q);
  });

  it('reads OPC DA ranges, Ignition stale, and OPC UA StatusCodes by severity', () => {
    expect(qualityFromCode(216)).toBe('good'); // DA good, local override
    expect(qualityFromCode(68)).toBe('uncertain'); // DA last usable value
    expect(qualityFromCode(24)).toBe('bad'); // DA comm failure
    expect(qualityFromCode(500)).toBe('bad'); // Ignition stale
    expect(qualityFromCode(0x808a0000)).toBe('bad'); // BadNotConnected
    expect(qualityFromCode(0x40920000)).toBe('uncertain'); // UncertainLastUsableValue
    expect(qualityFromCode(0x00960000)).toBe('good'); // GoodLocalOverride
    expect(qualityFromCode(-2142568448n)).toBe('bad'); // BadNotConnected as a signed Int32
  });
});
