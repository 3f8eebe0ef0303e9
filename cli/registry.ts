/**
 * `wanji registry import FILE`: enterprises and their ledgers from CSV or XLSX, straight into
 * the hub's registry (the hub may be running): its file in the data directory, or where the
 * `-c` hub config puts it (PostgreSQL with `registry.url`), as the other offline tools find it.
 * All rows or none unless --partial; the report lists every refused row and why
 * (docs/statistics.md, "Importing enterprises").
 */
import { type FileHandle, open } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HubError } from '../hub/errors.js';
import { type ImportReport, importLedgers } from '../hub/registry/import.js';
import { formatOf, readTableFrom } from '../hub/registry/import-file.js';
import { Registry } from '../hub/registry/registry.js';
import { openHubRegistry } from './hub-data-dir.js';
import type { CommandIo } from './io.js';

const USAGE = `Usage: wanji registry import FILE [options]

Imports enterprises and their equipment ledgers (设备台账) from a .csv or .xlsx file into the
hub's registry. Every row is checked first; by default one refused row means nothing is
imported: fix the rows the report names and run it again.

  -c, --config F    the hub's YAML config: its registry, where the hub keeps it (its data
                    directory's registry.db, or PostgreSQL when it sets registry.url)
  -d, --data-dir D  the hub's data directory (default: ./wanji-data; with -c, the config's)
  --dry-run         check and report what would change; write nothing
  --partial         import the accepted rows even when some are refused
  --by NAME         who declares the ledgers, for rows without a declared_by column
                    (default: cli:<your user name>, who is audited as the importer)
  --help            this help

Exit code: 0 imported (or a clean dry run), 1 rows refused or the file unreadable, 2 usage.
`;

function printReport(r: ImportReport, out: NodeJS.WritableStream): void {
  const lines: string[] = [];
  const verb = r.dryRun ? 'would be' : r.applied ? 'were' : 'would have been';
  lines.push(
    `${r.file}: ${r.rows} rows, ${r.accepted} accepted, ${r.refusedRows} refused` +
      `${r.dryRun ? ' (dry run: nothing written)' : ''}`,
  );
  lines.push(`  ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged ${verb}`);
  if (r.ignoredColumns.length > 0) lines.push(`  ignored columns: ${r.ignoredColumns.join(', ')}`);
  for (const s of r.skipped) lines.push(`  row ${s.row}: ${s.reason}`);
  for (const x of r.refused) {
    lines.push(`  row ${x.row}${x.code === '' ? '' : ` (${x.code})`}: ${x.reasons.join('; ')}`);
  }
  if (r.refusedRows > r.refused.length) {
    lines.push(
      `  … and ${r.refusedRows - r.refused.length} more refused rows (the first ${r.refused.length} are listed)`,
    );
  }
  if (!r.dryRun && !r.applied && r.refusedRows > 0) {
    lines.push('nothing imported: fix the refused rows, or import the others with --partial');
  }
  out.write(`${lines.join('\n')}\n`);
}

export async function runRegistryCommand(args: string[], io: CommandIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  const parse = (a: string[]) =>
    parseArgs({
      args: a,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'data-dir': { type: 'string', short: 'd' },
        'dry-run': { type: 'boolean' },
        partial: { type: 'boolean' },
        by: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  try {
    parsed = parse(args);
  } catch (err) {
    io.stderr.write(`wanji registry: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stdout.write(USAGE);
    return 0;
  }
  const [sub, file, ...extra] = positionals;
  if (sub !== 'import' || file === undefined || extra.length > 0) {
    io.stderr.write(`wanji registry: expected "import FILE"\n\n${USAGE}`);
    return 2;
  }
  const format = formatOf(file);
  if (format === undefined) {
    io.stderr.write(`wanji registry: ${file}: name a .csv or .xlsx file\n`);
    return 2;
  }
  let fh: FileHandle;
  try {
    fh = await open(file);
  } catch (err) {
    io.stderr.write(
      `wanji registry: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`,
    );
    return 1;
  }
  const actor = `cli:${userInfo().username}`;
  let registry: Registry;
  if (values.config === undefined) {
    // The data directory's file, made when it is not there yet (an import before the hub's first start).
    const dataDir = resolve(values['data-dir'] ?? 'wanji-data');
    registry = new Registry({ path: join(dataDir, 'registry.db'), logger: io.logger });
  } else {
    const opened = await openHubRegistry(
      'registry',
      { dataDir: values['data-dir'], config: values.config },
      io,
      false,
    );
    if (typeof opened === 'number') {
      await fh.close();
      return opened;
    }
    registry = opened.registry;
  }
  // Read as the API reads an upload: within the import's limits, refused at the first one passed.
  const stream = fh.createReadStream({ autoClose: false });
  try {
    await registry.start();
    const table = await readTableFrom(stream, format, basename(file), {
      declaredBytes: (await fh.stat()).size,
    });
    const report = importLedgers(registry, table, {
      actor,
      ...(values.by === undefined ? {} : { declaredBy: values.by }),
      source: 'cli',
      file: basename(file),
      dryRun: values['dry-run'] === true,
      partial: values.partial === true,
    });
    printReport(report, io.stdout);
    if (report.refusedRows > 0) {
      io.logger.warn({ file, refused: report.refusedRows, applied: report.applied }, 'import rows refused');
    }
    return report.refusedRows > 0 && !report.partial ? 1 : 0;
  } catch (err) {
    if (!(err instanceof HubError)) throw err;
    io.logger.warn({ code: err.code, reason: err.message }, 'import refused');
    io.stderr.write(`wanji registry: ${err.message} (${err.code})\n`);
    return 1;
  } finally {
    stream.destroy();
    await fh.close();
    await registry.close();
  }
}
