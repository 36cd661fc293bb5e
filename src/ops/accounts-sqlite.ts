// The operations page's users, sessions and audit log in the node's SQLite database (ops.database), for a single node.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrateSchema } from '../sqlite-schema.js';
import type { AccountRecords, AccountsExport, AuditEntry, Role, SessionRecord, User } from './account-records.js';
import { OPS_SCHEMA } from './accounts-schema.js';

export class SqliteAccountRecords implements AccountRecords {
  private readonly db: Database.Database;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    migrateSchema(this.db, file, OPS_SCHEMA);
    this.db.pragma('foreign_keys = ON');
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async activeUser(name: string): Promise<(User & { password: string }) | undefined> {
    return this.db.prepare('SELECT name, role, password FROM users WHERE name = ? AND disabled_at IS NULL').get(name) as (User & { password: string }) | undefined;
  }

  async putUser(name: string, role: Role, password: string, at: string): Promise<'added' | 'updated'> {
    return this.db.transaction(() => {
      const exists = !!this.db.prepare('SELECT 1 FROM users WHERE name = ?').get(name);
      this.db
        .prepare('INSERT INTO users (name, role, password, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET role = excluded.role, password = excluded.password')
        .run(name, role, password, at);
      if (exists) this.db.prepare('DELETE FROM sessions WHERE user = ?').run(name);
      return exists ? ('updated' as const) : ('added' as const);
    })();
  }

  async users(): Promise<User[]> {
    return this.db.prepare('SELECT name, role, disabled_at AS disabledAt FROM users ORDER BY name').all() as User[];
  }

  async setDisabled(name: string, at: string | null): Promise<boolean> {
    const changed = this.db.prepare('UPDATE users SET disabled_at = ? WHERE name = ?').run(at, name).changes > 0;
    if (changed && at) this.db.prepare('DELETE FROM sessions WHERE user = ?').run(name);
    return changed;
  }

  async removeUser(name: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM sessions WHERE user = ?').run(name);
      return this.db.prepare('DELETE FROM users WHERE name = ?').run(name).changes > 0;
    })();
  }

  async addSession(s: SessionRecord): Promise<void> {
    this.db.prepare('DELETE FROM sessions WHERE expires_at < ?').run(s.createdAt);
    this.db.prepare('INSERT INTO sessions (token_hash, user, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(s.tokenHash, s.user, s.csrf, s.createdAt, s.expiresAt);
  }

  async touchSession(tokenHash: string, now: string, expiresAt: string): Promise<{ csrf: string; name: string; role: Role } | undefined> {
    const row = this.db
      .prepare('SELECT s.csrf, s.expires_at, u.name, u.role FROM sessions s JOIN users u ON u.name = s.user WHERE s.token_hash = ? AND u.disabled_at IS NULL')
      .get(tokenHash) as { csrf: string; expires_at: string; name: string; role: Role } | undefined;
    if (!row || row.expires_at < now) return undefined;
    this.db.prepare('UPDATE sessions SET expires_at = ? WHERE token_hash = ?').run(expiresAt, tokenHash);
    return { csrf: row.csrf, name: row.name, role: row.role };
  }

  async removeSession(tokenHash: string): Promise<void> {
    this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(tokenHash);
  }

  async audit(e: AuditEntry): Promise<void> {
    this.db.prepare('INSERT INTO audit (at, user, action, target, outcome) VALUES (?, ?, ?, ?, ?)').run(e.at, e.user, e.action, e.target, e.outcome);
  }

  async auditLog(limit: number, since: string): Promise<AuditEntry[]> {
    return this.db.prepare('SELECT at, user, action, target, outcome FROM audit WHERE at >= ? ORDER BY rowid DESC LIMIT ?').all(since, limit) as AuditEntry[];
  }

  exportAll(): AccountsExport {
    return {
      users: this.db.prepare('SELECT name, role, password, created_at AS createdAt, disabled_at AS disabledAt FROM users ORDER BY name').all() as AccountsExport['users'],
      audit: this.db.prepare('SELECT at, user, action, target, outcome FROM audit ORDER BY rowid').all() as AuditEntry[],
    };
  }

  async purgeAudit(before: string): Promise<number> {
    return this.db.prepare('DELETE FROM audit WHERE at < ?').run(before).changes;
  }
}
