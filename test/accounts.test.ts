// The operations page's users, sessions and audit log: the same rules on a single node's SQLite and on the
// PostgreSQL that the nodes of a cluster share (a session opened on one node holds on another).
import { describe, expect, test } from 'vitest';
import { Accounts, sameToken } from '../src/ops/accounts.js';
import { sharedStateKinds } from './shared-state-stores.js';

const KINDS = sharedStateKinds('the accounts tests');

describe.each(KINDS)('accounts in the $kind', ({ missing, open }) => {
  test.skipIf(missing)('a login gives a session with its own CSRF token on every node; a new password, disabling or removing ends it', async () => {
    const place = await open('accounts');
    const [accounts, other] = [new Accounts(place.accounts()), new Accounts(place.accounts())];
    try {
      // Each password hashed or checked costs tens of milliseconds: the test keeps them few.
      expect(await accounts.setUser('alice', 'admin', 'first password')).toBe('added');
      expect(await accounts.setUser('bob', 'viewer', 'bob password')).toBe('added');
      await expect(accounts.setUser('carol', 'viewer', 'short')).rejects.toThrow(/at least 8/);
      expect(await other.login('alice', 'wrong password')).toBeUndefined();
      const [first, second] = [(await accounts.login('alice', 'first password'))!, (await other.login('alice', 'first password'))!];
      const session = (await other.session(first.token))!;
      expect(session.user).toEqual({ name: 'alice', role: 'admin' });
      expect(sameToken(first.session.csrf, session.csrf)).toBe(true);
      expect(sameToken(second.session.csrf, session.csrf)).toBe(false);
      expect(sameToken(undefined, session.csrf)).toBe(false);
      expect(await accounts.session('not a token')).toBeUndefined();
      await other.logout(first.token);
      expect(await accounts.session(first.token)).toBeUndefined();
      expect(await accounts.session(second.token)).toBeDefined();
      expect(await accounts.setUser('alice', 'admin', 'second password')).toBe('updated');
      expect(await other.session(second.token)).toBeUndefined();

      const bob = (await other.login('bob', 'bob password'))!;
      expect(await accounts.setDisabled('bob', true)).toBe(true);
      expect(await accounts.session(bob.token)).toBeUndefined();
      expect(await other.login('bob', 'bob password')).toBeUndefined();
      expect((await other.users()).map((u) => [u.name, u.role, !!u.disabledAt])).toEqual([
        ['alice', 'admin', false],
        ['bob', 'viewer', true],
      ]);
      expect(await accounts.setDisabled('bob', false)).toBe(true);
      expect(await accounts.removeUser('bob')).toBe(true);
      expect(await accounts.removeUser('bob')).toBe(false);
      expect(await accounts.setDisabled('nobody', true)).toBe(false);
    } finally {
      await accounts.close();
      await other.close();
      await place.close();
    }
  });

  test.skipIf(missing)('the audit log: newest first, from any node, since a time, purged by age', async () => {
    const place = await open('audit');
    const [accounts, other] = [new Accounts(place.accounts()), new Accounts(place.accounts())];
    try {
      await accounts.audit('alice', 'login', null, 'ok');
      await other.audit('bob', '/pause', 'intake', 'intake paused');
      const log = await accounts.auditLog();
      expect(log.map((e) => [e.user, e.action, e.target, e.outcome])).toEqual([
        ['bob', '/pause', 'intake', 'intake paused'],
        ['alice', 'login', null, 'ok'],
      ]);
      expect(await accounts.auditLog(1)).toHaveLength(1);
      expect(await accounts.auditLog(10, new Date(Date.now() + 60_000))).toEqual([]);
      expect(await other.purgeAudit(new Date(Date.now() + 60_000))).toBe(2);
      expect(await accounts.auditLog()).toEqual([]);
    } finally {
      await accounts.close();
      await other.close();
      await place.close();
    }
  });
});
