// The schema step of what the nodes of a cluster share besides their jobs: the delivery ledger, the operators' pause
// switches, and the operations page's users, sessions and audit log. A single node keeps these in its data folder
// (the ledger's journals, paused.json, ops.sqlite); these tables hold the same facts for every node at once.
export function sharedStateStep(version: number): { version: number; description: string; sql: string } {
  return {
    version,
    description: 'shared state: delivery ledger, pause switches, users, sessions, audit log',
    sql: `
      -- One row per object an archive confirmed storing: the key makes a second confirmation (another node that sent
      -- the same object) update the row rather than add one.
      CREATE TABLE delivered (
        destination text NOT NULL,
        sop_instance_uid text NOT NULL,
        status integer NOT NULL,
        description text NOT NULL,
        stored_at text COLLATE "C" NOT NULL,
        PRIMARY KEY (destination, sop_instance_uid)
      );
      CREATE INDEX delivered_latest ON delivered (destination, stored_at);
      -- A row while something is paused; node '' is the whole cluster, any other value one node's name.
      CREATE TABLE pauses (
        what text NOT NULL CHECK (what IN ('intake', 'processing', 'sending')),
        node text NOT NULL,
        paused_by text,
        paused_at text NOT NULL,
        PRIMARY KEY (what, node)
      );
      CREATE TABLE users (
        name text PRIMARY KEY,
        role text NOT NULL CHECK (role IN ('viewer', 'admin')),
        password text NOT NULL,
        created_at text NOT NULL,
        disabled_at text
      );
      CREATE TABLE sessions (
        token_hash text PRIMARY KEY,
        user_name text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
        csrf text NOT NULL,
        created_at text NOT NULL,
        expires_at text COLLATE "C" NOT NULL
      );
      CREATE TABLE audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at text COLLATE "C" NOT NULL,
        user_name text NOT NULL,
        action text NOT NULL,
        target text,
        outcome text NOT NULL
      );
      CREATE INDEX audit_by_time ON audit (at);
    `,
  };
}

/** The tables of this step, for tools that copy a node's state into a cluster. */
export const SHARED_STATE_TABLES = ['delivered', 'pauses', 'users', 'sessions', 'audit'] as const;
