import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../gateway/config/index.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('shows a gateway config that the gateway accepts as it stands', () => {
    const block = /```yaml\n(gateway:[\s\S]*?)```/.exec(readme)?.[1];
    expect(block, 'a ```yaml block starting with gateway:').toBeDefined();
    const config = parseGatewayConfig(block!, 'README.md');
    expect(config.machines.map((m) => m.id)).toEqual(['E001-CNC-001', 'E001-PRESS-001']);
  });

  it('names the two set-up commands', () => {
    expect(readme).toContain('npm install && npm run demo');
    expect(readme).toContain('npm test');
  });
});
