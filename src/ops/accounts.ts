// Who may use the operations page: local users with a role, their logins, and the audit log of what they did.
// Passwords are kept as scrypt hashes (a slow, memory-hard hash: a stolen file does not give the passwords back
// cheaply); a session is a random token in an HTTP-only cookie, of which only a hash is stored, with its own
// CSRF token that every action must carry.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { migrateSchema } from '../sqlite-schema.js';
import { OPS_SCHEMA } from './accounts-schema.js';

export const ROLES = ['viewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  name: string;
  role: Role;
  /** When an administrator disabled the user; absent for an active user. */
  disabledAt?: string | null;
}

export interface Session {
  user: User;
  csrf: string;
  expiresAt: string;
}

export interface AuditEntry {
  at: string;
  user: string;
  action: string;
  target: string | null;
  outcome: string;
}

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;
// N = 2^15, r = 8: 32 MiB and tens of milliseconds per guess on a server core (OWASP's minimum is 2^17 with r = 8
// and p = 1 or the equivalent 2^15 with p = 3 in work; p = 3 keeps the memory at 32 MiB).
const SCRYPT = { N: 2 ** 15, r: 8, p: 3, keylen: 32, maxmem: 64 * 1024 * 1024 };

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: SCRYPT.maxmem });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return crypto.timingSafeEqual(actual, expected);
}

const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

export class Accounts {
  private readonly db: Database.Database;
  /** Used for unknown user names, so that a wrong name takes as long as a wrong password. */
  private decoy: Promise<string> | undefined;
  /** The password check in progress, the next one waits for it. */
  private checking: Promise<unknown> = Promise.resolve();

  constructor(file: string, private readonly sessionMs = 12 * 3600_000) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    migrateSchema(this.db, file, OPS_SCHEMA);
    this.db.pragma('foreign_keys = ON');
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Adds a user, or replaces the role and password of an existing one. */
  async setUser(name: string, role: Role, password: string): Promise<'added' | 'updated'> {
    if (!/^[\w.@-]{1,64}$/.test(name)) throw new Error(`user name '${name}': 1–64 letters, digits, '.', '_', '-' or '@'`);
    if (!ROLES.includes(role)) throw new Error(`role '${role}': one of ${ROLES.join(', ')}`);
    if (password.length < 8) throw new Error('the password must have at least 8 characters');
    const hash = await hashPassword(password);
    const exists = !!this.db.prepare('SELECT 1 FROM users WHERE name = ?').get(name);
    this.db
      .prepare('INSERT INTO users (name, role, password, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET role = excluded.role, password = excluded.password')
      .run(name, role, hash, new Date().toISOString());
    // A changed password or role ends the user's open sessions.
    if (exists) this.db.prepare('DELETE FROM sessions WHERE user = ?').run(name);
    return exists ? 'updated' : 'added';
  }

  users(): User[] {
    return this.db.prepare('SELECT name, role, disabled_at AS disabledAt FROM users ORDER BY name').all() as User[];
  }

  /** Disables (or enables again) a user: a disabled user cannot log in, and their sessions end at once. */
  setDisabled(name: string, disabled: boolean): boolean {
    const changed = this.db.prepare('UPDATE users SET disabled_at = ? WHERE name = ?').run(disabled ? new Date().toISOString() : null, name).changes > 0;
    if (changed && disabled) this.db.prepare('DELETE FROM sessions WHERE user = ?').run(name);
    return changed;
  }

  /** Removes a user and their sessions; the audit log keeps what they did. */
  removeUser(name: string): boolean {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM sessions WHERE user = ?').run(name);
      return this.db.prepare('DELETE FROM users WHERE name = ?').run(name).changes > 0;
    })();
  }

  async login(name: string, password: string): Promise<{ token: string; session: Session } | undefined> {
    const row = this.db.prepare('SELECT name, role, password FROM users WHERE name = ? AND disabled_at IS NULL').get(name) as (User & { password: string }) | undefined;
    if (!row) {
      this.decoy ??= hashPassword(crypto.randomBytes(16).toString('hex'));
      const decoy = await this.decoy;
      await this.oneAtATime(() => verifyPassword(password, decoy));
      return undefined;
    }
    if (!(await this.oneAtATime(() => verifyPassword(password, row.password)))) return undefined;
    const token = crypto.randomBytes(32).toString('base64url');
    const csrf = crypto.randomBytes(32).toString('base64url');
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.sessionMs).toISOString();
    this.db.prepare('DELETE FROM sessions WHERE expires_at < ?').run(now.toISOString());
    this.db.prepare('INSERT INTO sessions (token_hash, user, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(sha256(token), row.name, csrf, now.toISOString(), expiresAt);
    return { token, session: { user: { name: row.name, role: row.role }, csrf, expiresAt } };
  }

  /**
   * Runs password checks one after the other: each holds a thread of libuv's pool, which the spool's file writes
   * share, for tens of milliseconds, and logins from many addresses at once must not take all of its threads.
   */
  private oneAtATime<T>(check: () => Promise<T>): Promise<T> {
    const run = this.checking.then(check, check);
    this.checking = run.catch(() => undefined);
    return run;
  }

  /** The live session of a cookie token (its expiry moved forward), or undefined. */
  session(token: string | undefined): Session | undefined {
    if (!token) return undefined;
    const row = this.db
      .prepare('SELECT s.csrf, s.expires_at, u.name, u.role FROM sessions s JOIN users u ON u.name = s.user WHERE s.token_hash = ? AND u.disabled_at IS NULL')
      .get(sha256(token)) as { csrf: string; expires_at: string; name: string; role: Role } | undefined;
    if (!row || row.expires_at < new Date().toISOString()) return undefined;
    const expiresAt = new Date(Date.now() + this.sessionMs).toISOString();
    this.db.prepare('UPDATE sessions SET expires_at = ? WHERE token_hash = ?').run(expiresAt, sha256(token));
    return { user: { name: row.name, role: row.role }, csrf: row.csrf, expiresAt };
  }

  logout(token: string): void {
    this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(sha256(token));
  }

  audit(user: string, action: string, target: string | null, outcome: string): void {
    this.db.prepare('INSERT INTO audit (at, user, action, target, outcome) VALUES (?, ?, ?, ?, ?)').run(new Date().toISOString(), user, action, target, outcome);
  }

  /** Newest first; `since`: entries at or after that time only. */
  auditLog(limit = 200, since?: Date): AuditEntry[] {
    return this.db
      .prepare('SELECT at, user, action, target, outcome FROM audit WHERE at >= ? ORDER BY rowid DESC LIMIT ?')
      .all(since ? since.toISOString() : '', limit) as AuditEntry[];
  }

  /** Deletes audit entries older than `before` (retention); returns how many. */
  purgeAudit(before: Date): number {
    return this.db.prepare('DELETE FROM audit WHERE at < ?').run(before.toISOString()).changes;
  }
}

/** Compares two CSRF tokens in constant time. */
export function sameToken(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/**
 * The audit log as CSV (RFC 4180), oldest first. A cell that a spreadsheet would read as a formula (=, +, -, @, tab,
 * carriage return at its start) is prefixed with an apostrophe: user names and targets come from outside.
 */
export function auditCsv(entries: readonly AuditEntry[]): string {
  const cell = (value: string | null) => {
    let text = value ?? '';
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const rows = [...entries].reverse().map((e) => [e.at, e.user, e.action, e.target, e.outcome].map(cell).join(','));
  return `at,user,action,target,outcome\r\n${rows.map((r) => `${r}\r\n`).join('')}`;
}
