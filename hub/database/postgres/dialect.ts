/**
 * SQLite's dialect, as the repositories write it, into PostgreSQL's: the mechanical
 * differences only, applied outside string literals and quoted identifiers —
 *
 * - parameters: `?` and `@name` become `$1, $2, …` (one number per distinct name);
 * - `INSERT OR IGNORE INTO …` becomes `INSERT INTO … ON CONFLICT DO NOTHING`;
 * - `LIKE` (case-insensitive for ASCII in SQLite) becomes `ILIKE`, and `GLOB '…*…'`
 *   (case-sensitive) becomes `LIKE '…%…'`;
 * - a mixed-case alias (`AS poweredOn`) is quoted so the row keeps its name.
 *
 * What is not mechanical is in the schema (postgres/migrations.ts defines SQLite's two-argument
 * max/min and a sum over booleans, so `max(coalesce(x, 0), @t)` and `sum(a = 1)` mean the same)
 * or in the repository, branching on the connection's dialect.
 */

export interface TranslatedSql {
  readonly text: string;
  /** `@name` parameters in $-number order; undefined when the statement uses `?`. */
  readonly names: readonly string[] | undefined;
  /** How many `?` parameters. */
  readonly positional: number;
}

type Segment = { readonly kind: 'code' | 'literal' | 'ident'; text: string };

function segments(sql: string): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  let code = '';
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      if (code !== '') out.push({ kind: 'code', text: code });
      code = '';
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) throw new Error(`unterminated ${c} in SQL: ${sql}`);
        if (sql[j] === c) {
          if (sql[j + 1] === c) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      out.push({ kind: c === "'" ? 'literal' : 'ident', text: sql.slice(i, j + 1) });
      i = j + 1;
      continue;
    }
    code += c;
    i++;
  }
  if (code !== '') out.push({ kind: 'code', text: code });
  return out;
}

/** A GLOB pattern's literal ('Gateway/*') as a LIKE pattern ('Gateway/%'). */
function globToLike(literal: string): string {
  const body = literal.slice(1, -1);
  if (/[?[]/.test(body)) throw new Error(`GLOB pattern ${literal} has ? or [: not translated`);
  return `'${body.replace(/[\\%_]/g, (ch) => `\\${ch}`).replace(/\*/g, '%')}'`;
}

export function translateSql(sql: string): TranslatedSql {
  const names: string[] = [];
  let positional = 0;
  let ignoreConflicts = false;
  let globNext = false;
  const parts = segments(sql);
  for (const s of parts) {
    if (s.kind === 'literal' && globNext) {
      s.text = globToLike(s.text);
      globNext = false;
      continue;
    }
    if (s.kind !== 'code') continue;
    let t = s.text;
    if (/\bINSERT\s+OR\s+IGNORE\s+INTO\b/i.test(t)) {
      t = t.replace(/\bINSERT\s+OR\s+IGNORE\s+INTO\b/i, 'INSERT INTO');
      ignoreConflicts = true;
    }
    if (/\bINSERT\s+OR\s+REPLACE\b/i.test(t)) throw new Error(`INSERT OR REPLACE is not translated: ${sql}`);
    t = t.replace(/\bLIKE\b/gi, 'ILIKE');
    if (/\bGLOB\s*$/i.test(t)) globNext = true;
    t = t.replace(/\bGLOB\b/gi, 'LIKE');
    // SQLite takes a negative LIMIT as none; PostgreSQL takes NULL.
    t = t.replace(/\bLIMIT\s+(\?|@[A-Za-z_][A-Za-z0-9_]*)/gi, 'LIMIT nullif(greatest($1, -1), -1)');
    t = t.replace(/\bAS\s+([a-z_][a-z0-9_]*[A-Z][A-Za-z0-9_]*)\b/g, 'AS "$1"');
    t = t.replace(/\?|@([A-Za-z_][A-Za-z0-9_]*)/g, (_m, name: string | undefined) => {
      if (name === undefined) return `$${++positional}`;
      let k = names.indexOf(name);
      if (k < 0) k = names.push(name) - 1;
      return `$${k + 1}`;
    });
    s.text = t;
  }
  if (positional > 0 && names.length > 0) throw new Error(`SQL mixes ? and @name parameters: ${sql}`);
  let text = parts.map((p) => p.text).join('');
  if (ignoreConflicts) text = `${text.trimEnd().replace(/;$/, '')} ON CONFLICT DO NOTHING`;
  return { text, names: names.length > 0 ? names : undefined, positional };
}

/** The statement's values in $-number order, from better-sqlite3-style arguments. */
export function bindValues(t: TranslatedSql, params: readonly unknown[]): unknown[] {
  if (t.names === undefined) {
    // better-sqlite3 takes an (empty) object of named parameters for a statement without any.
    if (t.positional === 0 && params.length === 1 && typeof params[0] === 'object' && params[0] !== null) {
      return [];
    }
    if (params.length !== t.positional) {
      throw new Error(`statement wants ${t.positional} parameters, got ${params.length}: ${t.text}`);
    }
    return params.map(value);
  }
  const obj = params[0];
  if (params.length !== 1 || typeof obj !== 'object' || obj === null) {
    throw new Error(`statement wants one object of named parameters: ${t.text}`);
  }
  const rec = obj as Record<string, unknown>;
  return t.names.map((n) => {
    if (!(n in rec)) throw new Error(`missing named parameter @${n}: ${t.text}`);
    return value(rec[n]);
  });
}

/** undefined binds as NULL, as booleans do as 0/1 in SQLite. */
function value(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}
