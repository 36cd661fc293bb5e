// A test that needs an external tool skips without it on a developer's machine, saying why, and fails under
// CI=true, where scripts/setup.sh installs every tool.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hasTool, toolsMissing } from './tools.js';

describe('external tools of the tests', () => {
  const ci = process.env.CI;
  afterEach(() => {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
    vi.restoreAllMocks();
  });

  it('a missing tool is a reason to skip outside CI, and the message names it', () => {
    delete process.env.CI;
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(toolsMissing('the validator test', 'node', 'dciodvfy-not-here')).toBe('dciodvfy-not-here not installed');
    expect(toolsMissing('the test', '/usr/sbin/Orthanc-not-here')).toMatch(/Orthanc-not-here not installed/);
    expect(hasTool('storescu-not-here')).toBe(false);
    expect(console.warn).toHaveBeenCalledWith(expect.stringMatching(/skipping the tests that use storescu-not-here/));
  });

  it('under CI=true a missing tool fails instead of skipping', () => {
    process.env.CI = 'true';
    expect(() => toolsMissing('the validator test', 'dciodvfy-not-here')).toThrow(/the validator test cannot run: dciodvfy-not-here not installed; CI installs it/);
    expect(() => hasTool('storescu-not-here')).toThrow(/storescu-not-here not installed/);
    expect(toolsMissing('a test of node itself', 'node')).toBeUndefined();
  });
});
