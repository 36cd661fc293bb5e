// What the operations page keeps about its users: the records behind `Accounts` (accounts.ts), which holds the
// rules (passwords, tokens, expiry). A single node keeps them in SQLite (accounts-sqlite.ts); the nodes of a cluster
// share them in PostgreSQL (accounts-postgres.ts), so that a login and the audit log hold on every node. Every call
// answers a promise: a session is read on each request, which is asynchronous anyway.
export const ROLES = ['viewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  name: string;
  role: Role;
  /** When an administrator disabled the user; absent for an active user. */
  disabledAt?: string | null;
}

export interface AuditEntry {
  at: string;
  user: string;
  action: string;
  target: string | null;
  outcome: string;
}

export interface SessionRecord {
  tokenHash: string;
  user: string;
  csrf: string;
  createdAt: string;
  expiresAt: string;
}

export interface AccountRecords {
  /** An active user with their password hash. */
  activeUser(name: string): Promise<(User & { password: string }) | undefined>;
  /** Adds a user or replaces the role and password of one (whose sessions then end). */
  putUser(name: string, role: Role, password: string, at: string): Promise<'added' | 'updated'>;
  users(): Promise<User[]>;
  /** Sets or clears disabled_at; a disabled user's sessions end. Whether the user exists. */
  setDisabled(name: string, at: string | null): Promise<boolean>;
  /** Removes a user and their sessions; whether the user existed. */
  removeUser(name: string): Promise<boolean>;
  /** Adds a session, removing those expired before it starts. */
  addSession(session: SessionRecord): Promise<void>;
  /** The session of an active user, unexpired at `now`, its expiry moved to `expiresAt`. */
  touchSession(tokenHash: string, now: string, expiresAt: string): Promise<{ csrf: string; name: string; role: Role } | undefined>;
  removeSession(tokenHash: string): Promise<void>;
  audit(entry: AuditEntry): Promise<void>;
  /** Newest first, at or after `since` (ISO time). */
  auditLog(limit: number, since: string): Promise<AuditEntry[]>;
  /** Removes entries older than `before`; how many. */
  purgeAudit(before: string): Promise<number>;
  close(): Promise<void>;
}

/** Everything a node's records hold but its sessions, to move them into a cluster's. */
export interface AccountsExport {
  users: Array<User & { password: string; createdAt: string }>;
  /** Oldest first. */
  audit: AuditEntry[];
}
