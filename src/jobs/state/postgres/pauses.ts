// The operators' pause switches on PostgreSQL, shared by the nodes of a cluster: a row while something is paused,
// for the whole cluster (node '') or for one node.
import type { PauseRecord, PauseSwitches, Pausable } from '../../controls.js';
import { now } from '../rows.js';
import type { Sql } from './schema.js';

export class PostgresPauses implements PauseSwitches {
  constructor(private readonly db: Sql) {}

  async list(): Promise<PauseRecord[]> {
    const rows = await this.db.rows<{ what: Pausable; node: string; by: string | null; at: string }>('SELECT what, node, paused_by AS by, paused_at AS at FROM pauses ORDER BY what, node');
    return rows.map((r) => ({ what: r.what, node: r.node, by: r.by ?? undefined, at: r.at }));
  }

  async set(what: Pausable, node: string, paused: boolean, by?: string): Promise<void> {
    if (!paused) {
      await this.db.run('DELETE FROM pauses WHERE what = $1 AND node = $2', [what, node]);
      return;
    }
    await this.db.run(
      `INSERT INTO pauses (what, node, paused_by, paused_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (what, node) DO UPDATE SET paused_by = excluded.paused_by, paused_at = excluded.paused_at`,
      [what, node, by ?? null, now()],
    );
  }
}
