// `brainstrip user add|list`: the local users of the operations page. The first admin can only be made here,
// on the node's own machine, by someone who can read its configuration and data folder.
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { loadConfig } from '../../config/schema.js';
import { dataFolder } from '../data-folder.js';
import { Accounts, ROLES, type Role } from '../ops/accounts.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip user add <name> [--role viewer|admin] [--config site.json]
       brainstrip user list [--config site.json]

add: creates the user (or sets a new password and role for an existing one, ending their open logins). The
password is asked twice on a terminal, or read as the first line of standard input when that is not a terminal:
  printf '%s\\n' "$PASSWORD" | brainstrip user add alice --role admin
Roles: viewer (sees everything), admin (also retries, cancels, re-sends, pauses, C-ECHO and self-test).
Users live in ops.database under dataDir (default var/ops.sqlite).`;

/** Reads a line from a terminal without echoing it. */
function askHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const rl = readline.createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}

async function readFirstLine(): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand('user', USAGE, argv, { role: { type: 'string' } });
  if (typeof parsed === 'number') return parsed;
  const [action, name, ...rest] = parsed.positionals;
  if (rest.length > 0 || (action !== 'add' && action !== 'list') || (action === 'add' && !name)) {
    console.error(`brainstrip user: ${action ? `unexpected '${[action, name, ...rest].filter(Boolean).join(' ')}'` : 'add or list?'}\n\n${USAGE}`);
    return 2;
  }
  const config = loadConfig({ file: parsed.values.config });
  const accounts = new Accounts(dataFolder(config).opsDatabase);
  try {
    if (action === 'list') {
      for (const user of accounts.users()) console.log(`${user.name}\t${user.role}`);
      return 0;
    }
    const role = (parsed.values.role ?? 'viewer') as Role;
    if (!ROLES.includes(role)) {
      console.error(`brainstrip user: role '${role}' is not one of ${ROLES.join(', ')}`);
      return 2;
    }
    let password: string;
    if (process.stdin.isTTY) {
      password = await askHidden(`password for ${name}: `);
      if ((await askHidden('again: ')) !== password) {
        console.error('brainstrip user: the two passwords differ');
        return 1;
      }
    } else {
      password = await readFirstLine();
    }
    const outcome = await accounts.setUser(name!, role, password);
    accounts.audit('(command line)', outcome === 'added' ? 'user add' : 'user update', `${name} (${role})`, 'ok');
    console.log(`user ${name} ${outcome} with role ${role}`);
    return 0;
  } catch (error) {
    console.error(`brainstrip user: ${(error as Error).message}`);
    return 1;
  } finally {
    accounts.close();
  }
}
