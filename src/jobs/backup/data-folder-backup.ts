// `brainstrip backup`: everything the node needs to go on elsewhere, copied while it runs. The databases are copied
// first, each as one snapshot; the files after them, so that a copied job finds its instances and results, and the
// ledger of what archives confirmed is at least as new as the jobs (a restored node may send an object again,
// which archives recognise by its UID, but never skips one that was not confirmed). Instances being received
// (spool/incoming) are not acknowledged yet and are left out.
import fs from 'node:fs';
import path from 'node:path';
import type { DataFolder } from '../../data-folder.js';
import { BRAINSTRIP_VERSION } from '../../version.js';
import { backupSqliteDatabase } from './sqlite-backup.js';

export const BACKUP_MANIFEST = 'backup.json';

export interface BackupManifest {
  brainstrip: string;
  createdAt: string;
  /** The data folder it was taken from. */
  dataDir: string;
  databases: string[];
  files: number;
  bytes: number;
}

/** Copies a folder tree; files and folders that disappear while it runs (housekeeping) are skipped. */
function copyTree(source: string, destination: string, skip: (relative: string) => boolean, counts: { files: number; bytes: number }, relative = ''): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(source, relative), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  fs.mkdirSync(path.join(destination, relative), { recursive: true });
  for (const entry of entries) {
    const child = path.join(relative, entry.name);
    if (skip(child)) continue;
    if (entry.isDirectory()) copyTree(source, destination, skip, counts, child);
    else if (entry.isFile()) {
      try {
        fs.copyFileSync(path.join(source, child), path.join(destination, child));
        counts.files++;
        counts.bytes += fs.statSync(path.join(destination, child)).size;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
}

/** Where `file` of the data folder goes in the backup; everything must lie inside the data folder. */
function inBackup(folder: DataFolder, target: string, file: string): string {
  const relative = path.relative(folder.root, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new Error(`${file} is outside the data folder ${folder.root}: back it up with the data folder's other storage`);
  }
  return path.join(target, relative);
}

export async function backupDataFolder(folder: DataFolder, target: string): Promise<BackupManifest> {
  if (fs.existsSync(target) && fs.readdirSync(target).length > 0) throw new Error(`${target} is not empty: back up into a new folder`);
  if (!fs.existsSync(folder.jobsDatabase)) throw new Error(`${folder.jobsDatabase} does not exist: is ${folder.root} a brainstrip data folder?`);
  fs.mkdirSync(target, { recursive: true });
  const databases: string[] = [];
  for (const database of [folder.jobsDatabase, folder.opsDatabase]) {
    if (!fs.existsSync(database)) continue;
    const copy = inBackup(folder, target, database);
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    await backupSqliteDatabase(database, copy);
    databases.push(path.relative(folder.root, database));
  }
  const counts = { files: 0, bytes: 0 };
  if (fs.existsSync(folder.pauses)) {
    fs.copyFileSync(folder.pauses, inBackup(folder, target, folder.pauses));
    counts.files++;
  }
  const incoming = path.join(folder.spool, 'incoming');
  for (const tree of [folder.spool, folder.work, folder.resultIndex, folder.storedLedger]) {
    copyTree(tree, inBackup(folder, target, tree), (relative) => path.join(tree, relative) === incoming, counts);
  }
  const manifest: BackupManifest = {
    brainstrip: BRAINSTRIP_VERSION,
    createdAt: new Date().toISOString(),
    dataDir: folder.root,
    databases,
    ...counts,
  };
  // Written last: a backup folder without it was interrupted.
  fs.writeFileSync(path.join(target, BACKUP_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
