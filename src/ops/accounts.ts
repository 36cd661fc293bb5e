// Who may use the operations page: local users with a role, their logins, and the audit log of what they did.
// Passwords are kept as scrypt hashes (a slow, memory-hard hash: a stolen file does not give the passwords back
// cheaply); a session is a random token in an HTTP-only cookie, of which only a hash is stored, with its own
// CSRF token that every action must carry.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import type { AccountRecords, AuditEntry, Role, User } from './account-records.js';
import { ROLES } from './account-records.js';
import { SqliteAccountRecords } from './accounts-sqlite.js';

export { ROLES } from './account-records.js';
export type { AccountRecords, AuditEntry, Role, User } from './account-records.js';

export interface Session {
  user: User;
  csrf: string;
  expiresAt: string;
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
  private readonly records: AccountRecords;
  /** Used for unknown user names, so that a wrong name takes as long as a wrong password. */
  private decoy: Promise<string> | undefined;
  /** The password check in progress, the next one waits for it. */
  private checking: Promise<unknown> = Promise.resolve();

  /** `records`: where they are kept, or the file of a single node's SQLite database. */
  constructor(records: AccountRecords | string, private readonly sessionMs = 12 * 3600_000) {
    this.records = typeof records === 'string' ? new SqliteAccountRecords(records) : records;
  }

  close(): Promise<void> {
    return this.records.close();
  }

  /** Adds a user, or replaces the role and password of an existing one (whose open sessions end). */
  async setUser(name: string, role: Role, password: string): Promise<'added' | 'updated'> {
    if (!/^[\w.@-]{1,64}$/.test(name)) throw new Error(`user name '${name}': 1–64 letters, digits, '.', '_', '-' or '@'`);
    if (!ROLES.includes(role)) throw new Error(`role '${role}': one of ${ROLES.join(', ')}`);
    if (password.length < 8) throw new Error('the password must have at least 8 characters');
    return this.records.putUser(name, role, await hashPassword(password), new Date().toISOString());
  }

  users(): Promise<User[]> {
    return this.records.users();
  }

  /** Disables (or enables again) a user: a disabled user cannot log in, and their sessions end at once. */
  setDisabled(name: string, disabled: boolean): Promise<boolean> {
    return this.records.setDisabled(name, disabled ? new Date().toISOString() : null);
  }

  /** Removes a user and their sessions; the audit log keeps what they did. */
  removeUser(name: string): Promise<boolean> {
    return this.records.removeUser(name);
  }

  async login(name: string, password: string): Promise<{ token: string; session: Session } | undefined> {
    const row = await this.records.activeUser(name);
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
    await this.records.addSession({ tokenHash: sha256(token), user: row.name, csrf, createdAt: now.toISOString(), expiresAt });
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
  async session(token: string | undefined): Promise<Session | undefined> {
    if (!token) return undefined;
    const expiresAt = new Date(Date.now() + this.sessionMs).toISOString();
    const row = await this.records.touchSession(sha256(token), new Date().toISOString(), expiresAt);
    return row && { user: { name: row.name, role: row.role }, csrf: row.csrf, expiresAt };
  }

  logout(token: string): Promise<void> {
    return this.records.removeSession(sha256(token));
  }

  audit(user: string, action: string, target: string | null, outcome: string): Promise<void> {
    return this.records.audit({ at: new Date().toISOString(), user, action, target, outcome });
  }

  /** Newest first; `since`: entries at or after that time only. */
  auditLog(limit = 200, since?: Date): Promise<AuditEntry[]> {
    return this.records.auditLog(limit, since ? since.toISOString() : '');
  }

  /** Deletes audit entries older than `before` (retention); returns how many. */
  purgeAudit(before: Date): Promise<number> {
    return this.records.purgeAudit(before.toISOString());
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
