// The operations database's schema, step by step (src/sqlite-schema.ts applies them). Step 1 is the schema of
// release 0.1.0, written so that it also adopts a 0.1.0 database, which carries no version yet.
import type { SchemaStep } from '../sqlite-schema.js';

export const OPS_SCHEMA: readonly SchemaStep[] = [
  {
    version: 1,
    description: 'users, sessions and the audit log (release 0.1.0)',
    up(db) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS users (
          name TEXT PRIMARY KEY,
          role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
          password TEXT NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS sessions (
          token_hash TEXT PRIMARY KEY,
          user TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
          csrf TEXT NOT NULL,
          created_at TEXT NOT NULL,
          expires_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS audit (
          at TEXT NOT NULL,
          user TEXT NOT NULL,
          action TEXT NOT NULL,
          target TEXT,
          outcome TEXT NOT NULL
        );
      `);
    },
  },
  {
    version: 2,
    description: 'users can be disabled (their logins refused, their sessions ended) without losing their audit trail',
    up(db) {
      db.exec('ALTER TABLE users ADD COLUMN disabled_at TEXT');
    },
  },
];
