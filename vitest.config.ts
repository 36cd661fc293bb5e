import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The files that take minutes, longest first. They start before the rest so that the two workers finish together
// instead of one of them running a long file alone at the end; a fresh clone has no timings from an earlier run.
const LONGEST_FIRST = ['review', 'receive', 'bench-quick', 'e2e', 'e2e-completion', 'registration', 'ops-page'];

// Files that run on their own after the others: the three-node test's leases (a few seconds) are what it tests, and
// a CPU-heavy file beside it can starve a node's heartbeat.
const ALONE = ['test/cluster.test.ts'];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const at = LONGEST_FIRST.indexOf(path.basename(file.moduleId, '.test.ts'));
      return at < 0 ? LONGEST_FIRST.length : at;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    // Network tests start real DCMTK/Orthanc peers and the node itself, and another file runs beside each: give
    // them room on a busy 2-core machine. A limit here only catches a hang, it is never a speed check.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Each file in its own process, two at a time: much of the suite waits (series idle timers, peers starting,
    // retries), and the other file uses the CPU meanwhile. Every file has its own ports, folders and peers.
    pool: 'forks',
    sequence: { sequencer: LongestFirst },
    projects: [
      { extends: true, test: { name: 'two at a time', include: ['test/**/*.test.ts'], exclude: ALONE, maxWorkers: 2 } },
      { extends: true, test: { name: 'alone', include: ALONE, maxWorkers: 1 } },
    ],
  },
});
