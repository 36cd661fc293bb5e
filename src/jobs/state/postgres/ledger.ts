// The delivery ledger on PostgreSQL: what each archive confirmed, shared by every node of a cluster, so that a job
// another node takes over never sends again what an archive already holds. A row is written only after the archive's
// Success (or Warning); (destination, SOP Instance UID) is the key, so two nodes confirming the same object leave
// one row. A committed insert is durable in the server's write-ahead log.
import type { Destination } from '../../../../config/sections/results.js';
import { type ConfirmedStore, type DeliveryLedger, type StoredRecord, checkUid, destinationKey } from '../../../scu/ledger.js';
import { now } from '../rows.js';
import type { Sql } from './schema.js';

const RECORD = 'sop_instance_uid AS "sopInstanceUid", destination, status, description, stored_at AS "storedAt"';

export class PostgresLedger implements DeliveryLedger {
  constructor(private readonly db: Sql) {}

  async confirmed(d: Destination, sopInstanceUids: readonly string[]): Promise<Map<string, StoredRecord>> {
    if (sopInstanceUids.length === 0) return new Map();
    const rows = await this.db.rows<StoredRecord>(`SELECT ${RECORD} FROM delivered WHERE destination = $1 AND sop_instance_uid = ANY($2::text[])`, [
      destinationKey(d),
      sopInstanceUids,
    ]);
    return new Map(rows.map((r) => [r.sopInstanceUid, r]));
  }

  async latest(d: Destination): Promise<StoredRecord | undefined> {
    return this.db.row<StoredRecord>(`SELECT ${RECORD} FROM delivered WHERE destination = $1 ORDER BY stored_at DESC LIMIT 1`, [destinationKey(d)]);
  }

  async recordMany(d: Destination, stores: readonly ConfirmedStore[]): Promise<void> {
    if (stores.length === 0) return;
    for (const s of stores) checkUid(s.sopInstanceUid);
    // One row per object even when a batch names one twice (one statement may not update a row twice).
    const unique = [...new Map(stores.map((s) => [s.sopInstanceUid, s])).values()];
    await this.db.run(
      `INSERT INTO delivered (destination, sop_instance_uid, status, description, stored_at)
       SELECT $1, uid, status, description, $5 FROM unnest($2::text[], $3::integer[], $4::text[]) AS s (uid, status, description)
       ON CONFLICT (destination, sop_instance_uid) DO UPDATE SET status = excluded.status, description = excluded.description, stored_at = excluded.stored_at`,
      [destinationKey(d), unique.map((s) => s.sopInstanceUid), unique.map((s) => s.status), unique.map((s) => s.description), now()],
    );
  }

  /** Adds records kept elsewhere (a single node's ledger), their times kept; those known already stay. How many were new. */
  async importRecords(records: readonly StoredRecord[]): Promise<number> {
    for (const r of records) checkUid(r.sopInstanceUid);
    return this.db.run(
      `INSERT INTO delivered (destination, sop_instance_uid, status, description, stored_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::text[]) ON CONFLICT (destination, sop_instance_uid) DO NOTHING`,
      [records.map((r) => r.destination), records.map((r) => r.sopInstanceUid), records.map((r) => r.status), records.map((r) => r.description), records.map((r) => r.storedAt)],
    );
  }

  async forget(d: Destination, sopInstanceUids: readonly string[]): Promise<number> {
    for (const uid of sopInstanceUids) checkUid(uid);
    if (sopInstanceUids.length === 0) return 0;
    return this.db.run('DELETE FROM delivered WHERE destination = $1 AND sop_instance_uid = ANY($2::text[])', [destinationKey(d), sopInstanceUids]);
  }
}
