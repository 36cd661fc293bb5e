// `brainstrip user add|list|disable|enable|remove`: the local users of the operations page. The first admin can only be made here,
// on the node's own machine, by someone who can read its configuration and data folder.
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { loadConfig } from '../../config/schema.js';
import { Accounts, ROLES, type Role } from '../ops/accounts.js';
import { openSharedState } from './shared-state.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip user add <name> [--role viewer|admin] [--config site.json]
       brainstrip user list [--config site.json]
       brainstrip user disable|enable|remove <name> [--config site.json]

add: creates the user (or sets a new password and role for an existing one, ending their open logins). The
password is asked twice on a terminal, or read as the first line of standard input when that is not a terminal:
  printf '%s\\n' "$PASSWORD" | brainstrip user add alice --role admin
disable: the user can no longer log in and their open logins end at once (enable undoes it); remove: deletes the
user and ends their logins (the audit log keeps what they did).
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
  const named = ['add', 'disable', 'enable', 'remove'];
  if (rest.length > 0 || !(action === 'list' || named.includes(action)) || (named.includes(action) && !name)) {
    console.error(`brainstrip user: ${action ? `unexpected '${[action, name, ...rest].filter(Boolean).join(' ')}'` : 'add, list, disable, enable or remove?'}\n\n${USAGE}`);
    return 2;
  }
  const config = loadConfig({ file: parsed.values.config });
  const shared = await openSharedState(config);
  const accounts = new Accounts(shared.accounts);
  try {
    if (action === 'list') {
      for (const user of await accounts.users()) console.log(`${user.name}\t${user.role}${user.disabledAt ? `\tdisabled ${user.disabledAt}` : ''}`);
      return 0;
    }
    if (action !== 'add') {
      const changed = await (action === 'remove' ? accounts.removeUser(name!) : accounts.setDisabled(name!, action === 'disable'));
      if (!changed) {
        console.error(`brainstrip user: no user '${name}'`);
        return 1;
      }
      await accounts.audit('(command line)', `user ${action}`, name!, 'ok');
      console.log(`user ${name} ${action === 'remove' ? 'removed' : `${action}d`}${action === 'enable' ? '' : '; their open logins ended'}`);
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
    await accounts.audit('(command line)', outcome === 'added' ? 'user add' : 'user update', `${name} (${role})`, 'ok');
    console.log(`user ${name} ${outcome} with role ${role}`);
    return 0;
  } catch (error) {
    console.error(`brainstrip user: ${(error as Error).message}`);
    return 1;
  } finally {
    await accounts.close();
    await shared.close();
  }
}
