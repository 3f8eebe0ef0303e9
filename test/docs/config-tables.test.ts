/**
 * The config reference tables in docs/hub.md and docs/gateway.md are checked against the schemas
 * the configs are validated with (hub/config.ts, gateway/config/schema.ts): every schema key is in
 * the table (itself, under a row of an enclosing key, or through all its own keys), with its
 * default or "required"; every key the table names exists in the schema.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KindGuard, type TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { GatewayConfigSchema, MachineSchema } from '../../gateway/config/schema.js';
import { HubConfigSchema } from '../../hub/config.js';
import { InfluxStoreConfigSchema } from '../../hub/store/influxdb/config.js';
import { schemaAt } from '../../protocol/config-check.js';

interface Row {
  readonly keys: readonly string[];
  readonly defaults: string;
}

/** The rows of the first table under `header` in a docs file: keys in backticks, then defaults. */
function table(file: string, header: string, from = 0): Row[] {
  const text = readFileSync(fileURLToPath(new URL(`../../docs/${file}`, import.meta.url)), 'utf8');
  const lines = text.split('\n');
  const start = lines.findIndex((l, i) => i >= from && l.trim() === header);
  expect(start, `${file}: a table headed ${header}`).toBeGreaterThanOrEqual(0);
  const rows: Row[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [first = '', second = ''] = line.split('|').slice(1);
    rows.push({ keys: [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ''), defaults: second });
  }
  return rows;
}

function lineOf(file: string, header: string, nth: number): number {
  const text = readFileSync(fileURLToPath(new URL(`../../docs/${file}`, import.meta.url)), 'utf8');
  const lines = text.split('\n');
  let seen = -1;
  for (let i = 0; i < lines.length; i++) if (lines[i]?.trim() === header && ++seen === nth) return i;
  return -1;
}

/** Spaces, backticks and digit-group separators out: "1 048 576" and "`1048576`" compare equal. */
const normal = (s: string): string => s.replaceAll(/[\s`]/g, '').replaceAll(/(\d),(?=\d{3})/g, '$1');

const isOptional = (s: TSchema): boolean => KindGuard.IsOptional(s);

/** The problems of a docs table against a schema: empty when they agree. */
function disagreements(
  schema: TSchema,
  rows: readonly Row[],
  notInSchema: readonly string[] = [],
  notInTable: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  const documented = new Map<string, Row>();
  for (const row of rows) for (const k of row.keys) documented.set(k, row);
  for (const key of documented.keys()) {
    if (notInSchema.includes(key)) continue;
    if (schemaAt(schema, `/${key.replaceAll('.', '/')}`) === undefined) {
      problems.push(`${key}: in the docs table but not in the schema`);
    }
  }
  const walk = (s: TSchema, prefix: string): void => {
    if (!KindGuard.IsObject(s)) return;
    for (const [name, child] of Object.entries(s.properties)) {
      const key = prefix + name;
      if (notInTable.includes(key)) continue;
      const row = documented.get(key);
      if (row !== undefined) {
        const d: unknown = child.default;
        if (d !== undefined && (typeof d !== 'object' || d === null)) {
          if (!normal(row.defaults).includes(normal(String(d)))) {
            problems.push(
              `${key}: the schema's default ${String(d)} is not in the table's "${row.defaults.trim()}"`,
            );
          }
        } else if (d === undefined && !isOptional(child) && !/required/.test(row.defaults)) {
          problems.push(`${key}: required by the schema, the table says "${row.defaults.trim()}"`);
        }
        continue;
      }
      const parts = key.split('.');
      const underARow = parts.some((_, i) => i > 0 && documented.has(parts.slice(0, i).join('.')));
      if (underARow) continue;
      if (KindGuard.IsObject(child)) walk(child, `${key}.`);
      else problems.push(`${key}: in the schema but not in the docs table`);
    }
  };
  walk(schema, '');
  return problems;
}

describe('the config reference tables agree with the schemas', () => {
  it('docs/hub.md: every key of HubConfigSchema, with its default; nothing else but the constructor options', () => {
    const rows = table('hub.md', '| option | default | meaning |');
    expect(rows.length).toBeGreaterThan(10);
    expect(disagreements(HubConfigSchema, rows, ['logger', 'clock'])).toEqual([]);
  });

  it('docs/gateway.md: the top-level keys and the machine keys', () => {
    const header = '| key | default | meaning |';
    const top = table('gateway.md', header);
    expect(top.length).toBeGreaterThan(10);
    expect(disagreements(GatewayConfigSchema, top)).toEqual([]);
    const machines = table('gateway.md', header, lineOf('gateway.md', header, 1));
    expect(machines.some((r) => r.keys.includes('dataDepth'))).toBe(true);
    expect(disagreements(MachineSchema, machines)).toEqual([]);
  });

  it("docs/store.md: the InfluxDB store keys (its `type` is the heading, `buffer` the hub's row)", () => {
    const rows = table(
      'store.md',
      '| key | default | meaning |',
      lineOf('store.md', '### Configuration (`store`, `type: influxdb`)', 0),
    );
    expect(rows.some((r) => r.keys.includes('batchLines'))).toBe(true);
    expect(disagreements(InfluxStoreConfigSchema, rows, [], ['type', 'buffer'])).toEqual([]);
  });

  it('a table that leaves a key out, names one the schema lacks, or states another default is caught', () => {
    const rows = table('hub.md', '| option | default | meaning |');
    const without = rows.filter((r) => !r.keys.includes('flushIntervalMs'));
    expect(disagreements(HubConfigSchema, without, ['logger', 'clock'])).toContain(
      'flushIntervalMs: in the schema but not in the docs table',
    );
    const extra = [...rows, { keys: ['mqtt.colour'], defaults: '—' }];
    expect(disagreements(HubConfigSchema, extra, ['logger', 'clock'])).toContain(
      'mqtt.colour: in the docs table but not in the schema',
    );
    const wrong = rows.map((r) => (r.keys.includes('flushIntervalMs') ? { ...r, defaults: '500' } : r));
    expect(disagreements(HubConfigSchema, wrong, ['logger', 'clock'])).toEqual([
      'flushIntervalMs: the schema\'s default 250 is not in the table\'s "500"',
    ]);
  });
});
