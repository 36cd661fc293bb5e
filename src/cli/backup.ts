// `brainstrip backup <dir>`: a consistent copy of the node's state, taken while it runs.
import path from 'node:path';
import { loadConfig } from '../../config/schema.js';
import { dataFolder } from '../data-folder.js';
import { backupDataFolder } from '../jobs/backup/data-folder-backup.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip backup <dir> [--config site.json]

Copies what the node needs into <dir> (new or empty) while the node runs: the job and operations databases
(SQLite's online backup: one consistent snapshot each), the pause switches, the spool, the job work folders with
their results, the result index and the ledger of what archives confirmed. backup.json, written last, says what
was copied. Restore: stop the node, copy the folder's contents into an empty data folder, give it to the service
user, start the node (README: Backup and restore).`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand('backup', USAGE, argv, {});
  if (typeof parsed === 'number') return parsed;
  if (parsed.positionals.length !== 1) {
    console.error(`brainstrip backup: give one folder to back up into\n\n${USAGE}`);
    return 2;
  }
  const config = loadConfig({ file: parsed.values.config });
  const target = path.resolve(parsed.positionals[0]);
  try {
    const manifest = await backupDataFolder(dataFolder(config), target);
    console.log(JSON.stringify({ backup: target, ...manifest }));
    return 0;
  } catch (error) {
    console.error(`brainstrip backup: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
