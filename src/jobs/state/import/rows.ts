// Rows copied into the cluster database in a few large statements.
import type { Sql } from '../postgres/schema.js';

export type Row = Record<string, unknown>;

/** At most this many values in one INSERT (PostgreSQL takes 65535 parameters). */
const MAX_PARAMETERS = 30_000;

/** Inserts `rows` (each with `columns`) into `table`, a few thousand per statement. */
export async function insertRows(tx: Sql, table: string, columns: string[], rows: Row[], suffix = ''): Promise<number> {
  const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
  let inserted = 0;
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const values = chunk.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`);
    const args = chunk.flatMap((row) => columns.map((c) => row[c] ?? null));
    inserted += await tx.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values.join(', ')} ${suffix}`, args);
  }
  return inserted;
}
