// The schema step of the nodes of a cluster: who is alive (a heartbeat), which node holds which job (its owner, taken
// over when that node dies), which node's associations are still delivering a series (its completion waits for them),
// and which node made each change of a job (the event's node, from the connection's brainstrip.node setting).
import { EVENT_TIME, type PgSchemaStep } from './step.js';

export const NODES_STEP: PgSchemaStep = {
  version: 3,
  description: 'nodes and their heartbeats, job owners, series deliveries per node, the node of each job event',
  sql: `
    CREATE TABLE nodes (
      name text PRIMARY KEY,
      roles text NOT NULL,
      version text NOT NULL,
      ops_address text,
      -- The running process that registered under the name: a second process under the same name is seen.
      session text NOT NULL,
      started_at timestamptz NOT NULL,
      heartbeat_at timestamptz NOT NULL
    );
    ALTER TABLE jobs ADD COLUMN owner text;
    CREATE INDEX jobs_by_owner ON jobs (owner) WHERE owner IS NOT NULL;
    CREATE TABLE series_deliveries (
      job_id bigint NOT NULL,
      node text NOT NULL,
      association integer NOT NULL,
      PRIMARY KEY (job_id, node, association)
    );
    CREATE INDEX series_deliveries_by_node ON series_deliveries (node, association);
    ALTER TABLE job_events ADD COLUMN node text;
    CREATE OR REPLACE FUNCTION job_event() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      by_node text := nullif(current_setting('brainstrip.node', true), '');
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO job_events (job_id, at, state, stage, detail, reason, node) VALUES (NEW.id, NEW.created_at, NEW.state, NEW.stage, NEW.detail, NEW.reason, by_node);
      ELSIF NEW.state IS DISTINCT FROM OLD.state OR NEW.stage IS DISTINCT FROM OLD.stage OR NEW.detail IS DISTINCT FROM OLD.detail THEN
        INSERT INTO job_events (job_id, at, state, stage, detail, reason, node) VALUES (NEW.id, ${EVENT_TIME}, NEW.state, NEW.stage, NEW.detail, NEW.reason, by_node);
      END IF;
      RETURN NULL;
    END $$;
  `,
};
