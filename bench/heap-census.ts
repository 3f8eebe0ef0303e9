/**
 * What a heap snapshot holds, by constructor: objects, their own bytes, and per point when told
 * how many points the process reads. For `npm run bench:gateway -- --heap-snapshot DIR`:
 *
 *   node node_modules/.cache/wanji-bench/bench/heap-census.js DIR/modbus-100k-gateway.heapsnapshot [--points 100000] [--top 30]
 *
 * Prints one JSON line per constructor (largest own size first), then a total line.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
    };
  };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { points: { type: 'string' }, top: { type: 'string', default: '30' } },
});
const file = positionals[0];
if (file === undefined) {
  process.stderr.write('usage: heap-census <file.heapsnapshot> [--points N] [--top N]\n');
  process.exit(2);
}
const points = args.points === undefined ? undefined : Number(args.points);

const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const width = fields.length;
const typeAt = fields.indexOf('type');
const nameAt = fields.indexOf('name');
const sizeAt = fields.indexOf('self_size');

/** Key: "<node type>:<constructor or kind>". */
const byKey = new Map<string, { count: number; bytes: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + typeAt]!]!;
  const bytes = snap.nodes[i + sizeAt]!;
  if (bytes === 0) continue;
  // Strings, numbers and code are grouped by kind; objects and closures by constructor/name.
  const grouped = type === 'object' || type === 'closure' || type === 'native' || type === 'array';
  const key = grouped ? `${type}:${snap.strings[snap.nodes[i + nameAt]!]}` : type;
  const e = byKey.get(key) ?? { count: 0, bytes: 0 };
  e.count++;
  e.bytes += bytes;
  byKey.set(key, e);
  total += bytes;
}

const round = (n: number) => Number(n.toPrecision(3));
const rows = [...byKey].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, Number(args.top));
for (const [key, e] of rows) {
  process.stdout.write(
    `${JSON.stringify({
      what: key,
      count: e.count,
      MB: round(e.bytes / 1024 / 1024),
      ...(points === undefined
        ? {}
        : { perPoint: round(e.count / points), bytesPerPoint: round(e.bytes / points) }),
    })}\n`,
  );
}
process.stdout.write(
  `${JSON.stringify({ what: 'total', MB: round(total / 1024 / 1024), ...(points === undefined ? {} : { bytesPerPoint: round(total / points) }) })}\n`,
);
