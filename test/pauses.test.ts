// The operators' pause switches: a pause set on one node holds on the others within a poll (a single node's file
// is read the same by the node after a restart); in a cluster a pause holds for every node or for one.
import { describe, expect, test } from 'vitest';
import { NodeControls, type Pausable, WHOLE_CLUSTER } from '../src/jobs/controls.js';
import { configureLogging } from '../src/log.js';
import { sharedStateKinds } from './shared-state-stores.js';

configureLogging({ level: 'warn', stream: 'stderr' });
const KINDS = sharedStateKinds('the pause switch tests');

async function until(what: string, check: () => boolean): Promise<void> {
  for (const started = Date.now(); !check(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() - started > 5000) throw new Error(`timed out waiting for ${what}`);
  }
}

describe.each(KINDS)('pause switches in the $kind', ({ kind, missing, open }) => {
  test.skipIf(missing)('a pause of the whole cluster holds on every node within a poll; resuming wakes who waits', async () => {
    const place = await open('pauses');
    const [a, b] = [new NodeControls(place.pauses(), { node: 'a', pollMs: 50 }), new NodeControls(place.pauses(), { node: 'b', pollMs: 50 })];
    try {
      await Promise.all([a.refresh(), b.refresh()]);
      const changes: Array<[Pausable, boolean]> = [];
      b.onChange((what, paused) => changes.push([what, paused]));
      await a.set('intake', true, 'alice', WHOLE_CLUSTER);
      expect(a.isPaused('intake')).toBe(true);
      await until('node b to see the pause', () => b.isPaused('intake'));
      expect(b.get('intake')).toMatchObject({ paused: true, by: 'alice', node: WHOLE_CLUSTER });
      expect(b.isPaused('sending')).toBe(false);
      const waiting = b.whenRunning('intake');
      await a.set('intake', false, 'alice', WHOLE_CLUSTER);
      await waiting;
      expect(changes).toEqual([
        ['intake', true],
        ['intake', false],
      ]);
      if (kind !== 'postgres') return;
      // One node's pause holds for that node only; the cluster's, for all, whatever a node's own says.
      await a.set('processing', true, 'bob', 'b');
      await until('node b to pause processing', () => b.isPaused('processing'));
      expect(a.isPaused('processing')).toBe(false);
      expect(a.pauses()).toMatchObject([{ what: 'processing', node: 'b', by: 'bob' }]);
      await b.set('processing', true, 'carol', WHOLE_CLUSTER);
      await b.set('processing', false, 'carol', 'b');
      expect(b.get('processing')).toMatchObject({ paused: true, by: 'carol', node: WHOLE_CLUSTER });
      await until('node a to pause processing', () => a.isPaused('processing'));
    } finally {
      a.close();
      b.close();
      await place.close();
    }
  });
});
