// UIDs of the objects brainstrip creates, under the configured root (PS3.5 9). A derived object's UID is a hash of
// what it was computed from, so that processing the same source instances with the same model again yields the
// same UIDs: an archive that already holds the object recognises it instead of storing a duplicate.
import crypto from 'node:crypto';

const MAX_UID_LENGTH = 64;

/** A UID under `root` derived from `parts` (same parts → same UID), or random when `parts` is empty. */
export function makeUid(root: string, ...parts: string[]): string {
  const digest =
    parts.length > 0
      ? crypto.createHash('sha256').update(parts.join('\u0000')).digest()
      : crypto.randomBytes(32);
  // 2.25 is followed by a 128-bit integer (PS3.5 B.2); under other roots use as many digits as fit in 64 chars.
  const room = MAX_UID_LENGTH - root.length - 1;
  if (room < 10) throw new Error(`UID root '${root}' leaves no room for a unique suffix (64 characters at most)`);
  const bits = root === '2.25' ? 128n : 256n;
  const value = BigInt(`0x${digest.toString('hex')}`) & ((1n << bits) - 1n);
  const suffix = (value % 10n ** BigInt(room)).toString();
  return `${root}.${suffix}`;
}
