// A consistent copy of a SQLite database that another process may be writing (SQLite's online backup API, which
// copies pages under a read transaction: in WAL mode the writer is never blocked and the copy is one snapshot).
import Database from 'better-sqlite3';

export async function backupSqliteDatabase(source: string, destination: string): Promise<void> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    await db.backup(destination);
  } finally {
    db.close();
  }
}
