/** Renders the register maps as Markdown tables (docs/modbus-register-map.md is checked against it). */
import { PROFILES, SIM_KINDS, type SimKind } from '../profiles/index.js';
import { registerWidth } from './codec.js';
import { REGISTER_MAPS } from './register-map.js';

const TABLE_ORDER = { coil: 0, discrete: 1, holding: 2, input: 3 } as const;
const FUNCTION_CODE = { coil: 'FC1', discrete: 'FC2', holding: 'FC3', input: 'FC4' } as const;

export function registerTableMarkdown(kind: SimKind): string {
  const specs = new Map(PROFILES[kind].signals.map((s) => [s.name, s]));
  const rows = [...REGISTER_MAPS[kind]]
    .sort((a, b) => TABLE_ORDER[a.table] - TABLE_ORDER[b.table] || a.address - b.address)
    .map((e) => {
      const spec = specs.get(e.signal);
      const width = e.type === 'bool' ? 1 : registerWidth(e.type);
      const addr = width === 1 ? `${e.address}` : `${e.address}–${e.address + width - 1}`;
      const order = width === 2 ? (e.order ?? 'ABCD') : '';
      const scale = e.scale === undefined ? '' : `×${e.scale}`;
      const depth = spec?.depth ?? '';
      return `| ${e.table} (${FUNCTION_CODE[e.table]}) | ${addr} | ${e.signal} | ${e.type} | ${order} | ${scale} | ${spec?.unit ?? ''} | ${depth} |`;
    });
  return [
    '| table | address | signal | type | order | scale | unit | depth |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

export function registerMapMarkdown(): string {
  return SIM_KINDS.map((kind) => `### ${kind}\n\n${registerTableMarkdown(kind)}\n`).join('\n');
}
