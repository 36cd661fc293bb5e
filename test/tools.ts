// The external tools and system files the tests use as real peers (DCMTK, dicom3tools, dcm2niix, Orthanc,
// Chromium, Colin27 from mricron-data). scripts/setup.sh installs them; a developer's run without one skips what
// needs it, saying so. CI (CI=true) runs after setup.sh, and there a missing tool is an error rather than a quiet
// skip, as a missing ../shared/data is.
import fs from 'node:fs';
import path from 'node:path';

/** Debian packages of the tools, for the message. */
const PACKAGES: Record<string, string> = {
  storescu: 'dcmtk',
  storescp: 'dcmtk',
  echoscu: 'dcmtk',
  dcmdump: 'dcmtk',
  dcmodify: 'dcmtk',
  dciodvfy: 'dicom3tools',
  dcm2niix: 'dcm2niix',
  openssl: 'openssl',
  promtool: 'prometheus',
  '/usr/bin/chromium': 'chromium',
  '/usr/sbin/Orthanc': 'orthanc',
  '/usr/share/mricron/templates/ch2.nii.gz': 'mricron-data',
  '/usr/share/mricron/templates/ch2bet.nii.gz': 'mricron-data',
};

/** Whether a command is on PATH (or an absolute path exists). */
function installed(tool: string): boolean {
  if (path.isAbsolute(tool)) return fs.existsSync(tool);
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && fs.existsSync(path.join(dir, tool)));
}

/** `reason` (why `what` cannot run) passed through, or undefined; throws under CI=true when there is a reason. */
export function requirementMissing(what: string, reason: string | undefined): string | undefined {
  if (reason !== undefined && process.env.CI === 'true') throw new Error(`${what} cannot run: ${reason}; CI installs it (scripts/setup.sh)`);
  return reason;
}

/** Why `what` cannot run (the tools that are not installed), or undefined; throws under CI=true. */
export function toolsMissing(what: string, ...tools: string[]): string | undefined {
  const absent = tools.filter((t) => !installed(t));
  if (absent.length === 0) return undefined;
  const names = absent.map((t) => (PACKAGES[t] ? `${t} (Debian package ${PACKAGES[t]})` : t)).join(', ');
  return requirementMissing(what, `${names} not installed`);
}

/** True when `tool` is installed; otherwise warns that what needs it is skipped (and throws under CI=true). */
export function hasTool(tool: string, what = `the tests that use ${tool}`): boolean {
  const missing = toolsMissing(what, tool);
  if (missing) console.warn(`skipping ${what}: ${missing}`);
  return missing === undefined;
}
