// What a single node keeps besides its jobs, moved into the cluster database with them: the delivery ledger (its
// journals), the pause switches (paused.json: the node was the whole service, so a pause becomes cluster-wide), and
// the operations page's users and audit log (ops.sqlite). Open logins are not moved: people log in again.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { StoredLedger } from '../../../scu/ledger.js';
import { NodeControls, PAUSABLE } from '../../controls.js';
import type { Sql } from '../postgres/schema.js';
import { type Row, insertRows } from './rows.js';

export interface SharedStateFiles {
  storedLedger: string;
  pauses: string;
  opsDatabase: string;
}

export interface SharedStateImport {
  ledgerRecords: number;
  pauses: number;
  users: number;
  auditEntries: number;
}

/** The users and audit log of the node's operations database (none without one), in the cluster's columns. */
function accounts(file: string): { users: Row[]; audit: Row[] } {
  if (!fs.existsSync(file)) return { users: [], audit: [] };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    // A database of a release before users could be disabled has no such column.
    const columns = new Set((db.prepare('PRAGMA table_info(users)').all() as Array<{ name: string }>).map((c) => c.name));
    const disabled = columns.has('disabled_at') ? 'disabled_at' : 'NULL AS disabled_at';
    return {
      users: db.prepare(`SELECT name, role, password, created_at, ${disabled} FROM users`).all() as Row[],
      audit: db.prepare('SELECT at, user AS user_name, action, target, outcome FROM audit ORDER BY rowid').all() as Row[],
    };
  } finally {
    db.close();
  }
}

export async function importSharedState(tx: Sql, files: SharedStateFiles): Promise<SharedStateImport> {
  const ledger = new StoredLedger(files.storedLedger).allRecords().map((r) => ({
    destination: r.destination,
    sop_instance_uid: r.sopInstanceUid,
    status: r.status,
    description: r.description,
    stored_at: r.storedAt,
  }));
  const ledgerRecords = await insertRows(tx, 'delivered', ['destination', 'sop_instance_uid', 'status', 'description', 'stored_at'], ledger, 'ON CONFLICT DO NOTHING');

  const controls = new NodeControls(files.pauses);
  const paused = PAUSABLE.filter((what) => controls.isPaused(what)).map((what) => {
    const state = controls.get(what);
    return { what, node: '', paused_by: state.by ?? null, paused_at: state.at ?? new Date().toISOString() };
  });
  const pauses = await insertRows(tx, 'pauses', ['what', 'node', 'paused_by', 'paused_at'], paused, 'ON CONFLICT DO NOTHING');

  const ops = accounts(files.opsDatabase);
  const users = await insertRows(tx, 'users', ['name', 'role', 'password', 'created_at', 'disabled_at'], ops.users, 'ON CONFLICT DO NOTHING');
  const auditEntries = await insertRows(tx, 'audit', ['at', 'user_name', 'action', 'target', 'outcome'], ops.audit);
  return { ledgerRecords, pauses, users, auditEntries };
}
