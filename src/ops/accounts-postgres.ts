// The operations page's users, sessions and audit log in PostgreSQL, shared by the nodes of a cluster: a user
// added on one node logs in on any, a session cookie holds whichever node answers, and the audit log is one.
import type { PgDb } from '../jobs/state/postgres/schema.js';
import type { AccountRecords, AccountsExport, AuditEntry, Role, SessionRecord, User } from './account-records.js';

export class PostgresAccountRecords implements AccountRecords {
  constructor(private readonly db: PgDb) {}

  /** The pool belongs to whoever opened it. */
  async close(): Promise<void> {}

  async activeUser(name: string): Promise<(User & { password: string }) | undefined> {
    return this.db.row('SELECT name, role, password FROM users WHERE name = $1 AND disabled_at IS NULL', [name]);
  }

  async putUser(name: string, role: Role, password: string, at: string): Promise<'added' | 'updated'> {
    return this.db.transaction(async (tx) => {
      const row = await tx.row<{ added: boolean }>(
        `INSERT INTO users (name, role, password, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET role = excluded.role, password = excluded.password RETURNING (xmax = 0) AS added`,
        [name, role, password, at],
      );
      if (row?.added) return 'added';
      await tx.run('DELETE FROM sessions WHERE user_name = $1', [name]);
      return 'updated';
    });
  }

  async users(): Promise<User[]> {
    return this.db.rows('SELECT name, role, disabled_at AS "disabledAt" FROM users ORDER BY name COLLATE "C"');
  }

  async setDisabled(name: string, at: string | null): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const changed = (await tx.run('UPDATE users SET disabled_at = $1 WHERE name = $2', [at, name])) > 0;
      if (changed && at) await tx.run('DELETE FROM sessions WHERE user_name = $1', [name]);
      return changed;
    });
  }

  async removeUser(name: string): Promise<boolean> {
    // The sessions go with the user (ON DELETE CASCADE).
    return (await this.db.run('DELETE FROM users WHERE name = $1', [name])) > 0;
  }

  async addSession(s: SessionRecord): Promise<void> {
    await this.db.run('DELETE FROM sessions WHERE expires_at < $1', [s.createdAt]);
    await this.db.run('INSERT INTO sessions (token_hash, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
      s.tokenHash,
      s.user,
      s.csrf,
      s.createdAt,
      s.expiresAt,
    ]);
  }

  async touchSession(tokenHash: string, now: string, expiresAt: string): Promise<{ csrf: string; name: string; role: Role } | undefined> {
    return this.db.row(
      `UPDATE sessions s SET expires_at = $3 FROM users u
       WHERE s.token_hash = $1 AND u.name = s.user_name AND u.disabled_at IS NULL AND s.expires_at >= $2
       RETURNING s.csrf, u.name, u.role`,
      [tokenHash, now, expiresAt],
    );
  }

  async removeSession(tokenHash: string): Promise<void> {
    await this.db.run('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
  }

  async audit(e: AuditEntry): Promise<void> {
    await this.db.run('INSERT INTO audit (at, user_name, action, target, outcome) VALUES ($1, $2, $3, $4, $5)', [e.at, e.user, e.action, e.target, e.outcome]);
  }

  async auditLog(limit: number, since: string): Promise<AuditEntry[]> {
    return this.db.rows('SELECT at, user_name AS "user", action, target, outcome FROM audit WHERE at >= $1 ORDER BY id DESC LIMIT $2', [since, limit]);
  }

  /**
   * Adds a node's users (a name known already keeps the cluster's user) and its audit entries (an entry the log
   * holds already is not added again, so that a second import adds nothing). How many of each were added.
   */
  async importAll(data: AccountsExport): Promise<{ users: number; audit: number }> {
    return this.db.transaction(async (tx) => {
      let users = 0;
      for (const u of data.users) {
        users += await tx.run('INSERT INTO users (name, role, password, created_at, disabled_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING', [
          u.name,
          u.role,
          u.password,
          u.createdAt,
          u.disabledAt ?? null,
        ]);
      }
      let audit = 0;
      for (const e of data.audit) {
        audit += await tx.run(
          `INSERT INTO audit (at, user_name, action, target, outcome) SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS
             (SELECT 1 FROM audit WHERE at = $1 AND user_name = $2 AND action = $3 AND target IS NOT DISTINCT FROM $4 AND outcome = $5)`,
          [e.at, e.user, e.action, e.target, e.outcome],
        );
      }
      return { users, audit };
    });
  }

  async purgeAudit(before: string): Promise<number> {
    return this.db.run('DELETE FROM audit WHERE at < $1', [before]);
  }
}
