// What every step of the PostgreSQL schema is made of, apart from the list that orders them (./schema.ts), so that a
// step kept in a file of its own can use it.

export interface PgSchemaStep {
  /** 1, 2, 3, … without gaps; never renumbered once released. */
  version: number;
  description: string;
  sql: string;
}

/** The event time as the SQLite store writes it (ISO 8601, UTC, milliseconds). */
export const EVENT_TIME = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
