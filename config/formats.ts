// Every value format of the configuration schema, registered with convict here and nowhere else (schema.ts imports
// this module before it builds the schema). Each message says what is allowed; convict names the key and the value,
// loadConfig adds where the value came from. Values from the environment arrive as text: the coercions turn text
// into a number or a list only when the whole text is one, so "thirty" stays text and is refused instead of becoming
// NaN, and "8080x" is not read as 8080.
import net from 'node:net';
import convict from 'convict';

const NUMBER_TEXT = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
const toNumber = (text: string): unknown => (NUMBER_TEXT.test(text) ? Number(text) : text);

/** A list from the environment: JSON (`["a","b"]`) or comma-separated values. */
function toList(text: string, item: (part: string) => unknown = (part) => part): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return parseJsonOr(trimmed);
  return trimmed === '' ? [] : trimmed.split(',').map((part) => item(part.trim()));
}

/** JSON text as its value; text that is not JSON stays text, and the format says what it should have been. */
function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function check(ok: boolean, allowed: string): void {
  if (!ok) throw new Error(`must be ${allowed}`);
}

// PS3.5 6.2 AE: the default character repertoire (G0 of ISO-IR 6) without backslash and control characters,
// 16 characters at most; leading and trailing spaces are not significant, so they are dropped and not counted.
const AE_CHARACTERS = /^[\x20-\x5b\x5d-\x7e]*$/;
export const AE_TITLE_RULE = 'a DICOM AE title: 1–16 characters (letters, digits, spaces and ASCII punctuation except backslash; not all spaces)';
export function isAeTitle(value: unknown): value is string {
  return typeof value === 'string' && AE_CHARACTERS.test(value) && value.trim().length >= 1 && value.trim().length <= 16;
}

// PS3.5 9.1: components of decimal digits without leading zeros, separated by dots.
const UID = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;
const isUid = (value: unknown, maxLength: number) => typeof value === 'string' && UID.test(value) && value.length <= maxLength;

// RFC 1123 host names: labels of letters, digits and hyphens, not starting or ending with a hyphen.
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;
export const HOST_RULE = 'an IP address or a host name (letters, digits, hyphens and dots)';
export function isHost(value: unknown): value is string {
  // Digits and dots only is an IPv4 address or nothing (10.0.0.300 is no host name either).
  return typeof value === 'string' && (net.isIP(value) !== 0 || (HOST_NAME.test(value) && !/^[\d.]+$/.test(value)));
}

const isWholeNumber = (x: unknown, min: number, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(x) && (x as number) >= min && (x as number) <= max;
const isNumberAtLeast = (x: unknown, min: number, inclusive: boolean) =>
  typeof x === 'number' && Number.isFinite(x) && (inclusive ? x >= min : x > min);

function numberFormat(name: string, ok: (x: unknown) => boolean, allowed: string) {
  convict.addFormat({ name, validate: (x: unknown) => check(ok(x), allowed), coerce: toNumber });
}
numberFormat('whole-number', (x) => isWholeNumber(x, 0), 'a whole number ≥ 0');
numberFormat('positive-whole-number', (x) => isWholeNumber(x, 1), 'a whole number ≥ 1');
numberFormat('tcp-port', (x) => isWholeNumber(x, 0, 65535), 'a TCP port number 0–65535 (0: any free port)');
// dcmjs-dimse announces at most its own maximum (262144): a larger value would be cut without a word.
numberFormat('pdu-length', (x) => isWholeNumber(x, 4096, 262144), 'a PDU length in bytes, 4096–262144 (the most dcmjs-dimse announces)');
numberFormat('non-negative-number', (x) => isNumberAtLeast(x, 0, true), 'a number ≥ 0');
numberFormat('positive-number', (x) => isNumberAtLeast(x, 0, false), 'a number > 0');
numberFormat('fraction', (x) => isNumberAtLeast(x, 0, true) && (x as number) <= 1, 'a number from 0 to 1');
numberFormat('duration', (x) => isNumberAtLeast(x, 0, true), 'a duration ≥ 0 (a number, in the unit the key names)');
numberFormat('positive-duration', (x) => isNumberAtLeast(x, 0, false), 'a duration > 0 (a number, in the unit the key names)');
// A whole series waits this long after its association ends; longer would defeat answering at once.
numberFormat('completion-grace', (x) => isNumberAtLeast(x, 0, true) && (x as number) <= 2, 'a number of seconds from 0 to 2 (0: only the idle time completes a series)');

convict.addFormat({
  name: 'flag',
  validate: (x: unknown) => check(typeof x === 'boolean', 'true or false'),
  coerce: (text: string) => ({ true: true, false: false })[text.trim().toLowerCase()] ?? text,
});

convict.addFormat({ name: 'text', validate: (x: unknown) => check(typeof x === 'string', 'text') });

// No control characters: a path or a name with one is a typing accident, never intended.
const PRINTABLE = /^[^\x00-\x1f\x7f]*$/;
convict.addFormat({ name: 'path', validate: (x: unknown) => check(typeof x === 'string' && x !== '' && PRINTABLE.test(x), 'a file or folder path (not empty)') });
convict.addFormat({ name: 'optional-path', validate: (x: unknown) => check(typeof x === 'string' && PRINTABLE.test(x), 'a file path, or empty') });

// A PostgreSQL connection URL (node-postgres reads it, with its query parameters such as sslmode); empty: none.
const isPostgresUrl = (x: unknown): boolean => {
  if (typeof x !== 'string' || !PRINTABLE.test(x)) return false;
  if (x === '') return true;
  try {
    const url = new URL(x);
    return (url.protocol === 'postgresql:' || url.protocol === 'postgres:') && url.pathname.length > 1;
  } catch {
    return false;
  }
};
convict.addFormat({
  name: 'optional-postgres-url',
  validate: (x: unknown) => check(isPostgresUrl(x), 'empty, or a PostgreSQL URL with a database (postgresql://user:password@host:5432/brainstrip)'),
});
// A node's name among the nodes of a cluster: what logs, metrics and the cluster page show.
convict.addFormat({
  name: 'node-name',
  validate: (x: unknown) => check(typeof x === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(x), '1 to 63 letters, digits, dots, dashes or underscores'),
});

convict.addFormat({
  // LO (PS3.5 6.2): 64 characters, no backslash or control characters.
  name: 'dicom-long-string',
  validate: (x: unknown) => check(typeof x === 'string' && x.length <= 64 && /^[^\\\x00-\x1f\x7f]*$/.test(x), 'text of at most 64 characters without backslash'),
});

convict.addFormat({
  name: 'ae-title',
  validate: (x: unknown) => check(isAeTitle(x), AE_TITLE_RULE),
  coerce: (text: string) => (isAeTitle(text) ? text.trim() : text),
});

convict.addFormat({ name: 'host', validate: (x: unknown) => check(isHost(x), HOST_RULE) });
convict.addFormat({
  name: 'bind-address',
  validate: (x: unknown) => check(x === '' || isHost(x), `empty (every interface), or ${HOST_RULE} of this machine`),
});

function listOf(x: unknown, item: (entry: unknown) => boolean): boolean {
  return Array.isArray(x) && x.every(item);
}
function listFormat(name: string, item: (entry: unknown) => boolean, allowed: string, fromText?: (part: string) => unknown) {
  convict.addFormat({ name, validate: (x: unknown) => check(listOf(x, item), allowed), coerce: (text: string) => toList(text, fromText) });
}
listFormat('text-list', (v) => typeof v === 'string' && v !== '', 'a list of non-empty texts');
listFormat('positive-number-list', (v) => isNumberAtLeast(v, 0, false), 'a list of numbers > 0', toNumber);
listFormat('positive-whole-number-list', (v) => isWholeNumber(v, 1), 'a list of whole numbers ≥ 1', toNumber);
listFormat('uid-list', (v) => isUid(v, 64), 'a list of DICOM UIDs (digits and dots, no leading zeros, at most 64 characters)');
// What a node of a cluster does: each role at most once, at least one.
export const NODE_ROLES = ['receive', 'process', 'send'] as const;
convict.addFormat({
  name: 'node-roles',
  validate: (x: unknown) =>
    check(
      listOf(x, (v) => (NODE_ROLES as readonly unknown[]).includes(v)) && (x as unknown[]).length > 0 && new Set(x as unknown[]).size === (x as unknown[]).length,
      `a non-empty list of ${NODE_ROLES.join(', ')} (each at most once)`,
    ),
  coerce: (text: string) => toList(text),
});

convict.addFormat({
  name: 'dicom-uid-root',
  // Leave room for the generated suffix.
  validate: (x: unknown) => check(isUid(x, 40), 'a DICOM UID prefix such as 2.25 or your organisation root (no leading zeros), at most 40 characters'),
});

convict.addFormat({
  name: 'calling-ae-list',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error('must be a list of "AE" or "AE@ip-address" texts');
    for (const entry of value) {
      if (typeof entry !== 'string') throw new Error(`must be a list of "AE" or "AE@ip-address" texts; ${JSON.stringify(entry)} is not text`);
      const [ae, host, ...rest] = entry.split('@');
      if (!isAeTitle(ae)) throw new Error(`entry "${entry}": the AE title must be ${AE_TITLE_RULE}`);
      if (host !== undefined && (rest.length > 0 || net.isIP(host.trim()) === 0)) {
        throw new Error(`entry "${entry}": after @ must come the IP address the sender connects from (IPv4 or IPv6)`);
      }
    }
  },
  coerce: (text: string) => toList(text),
});

/** One routing rule; every field given must match (regexes are case-insensitive). */
export interface RoutingRule {
  modality?: string;
  /** Regular expression tested against SeriesDescription. */
  seriesDescription?: string;
  callingAe?: string;
  /**
   * Include rules only: where the results of the series it matches go — AE titles of results.destinations, or
   * CALLING_AE (the AE that sent the series, as results.knownAes lists it). Absent: every destination.
   */
  destinations?: string[];
}

/** In a rule's destinations: the AE that sent the series, found in results.knownAes (never from the association). */
export const CALLING_AE = '@caller';

const RULE_SHAPE = 'a list of rules {modality?, seriesDescription? (regular expression), callingAe?, destinations? (AE titles, or "@caller")}';
convict.addFormat({
  name: 'routing-rules',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error(`must be ${RULE_SHAPE}`);
    for (const rule of value as unknown[]) {
      if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) throw new Error(`must be ${RULE_SHAPE}; ${JSON.stringify(rule)} is not a rule`);
      for (const [field, text] of Object.entries(rule)) {
        if (!['modality', 'seriesDescription', 'callingAe', 'destinations'].includes(field)) throw new Error(`must be ${RULE_SHAPE}; a rule has no field '${field}'`);
        if (field === 'destinations') {
          if (!Array.isArray(text) || text.length === 0 || !text.every((d) => d === CALLING_AE || isAeTitle(d))) {
            throw new Error(`rule destinations must be a non-empty list of destination AE titles or "${CALLING_AE}", not ${JSON.stringify(text)}`);
          }
        } else if (typeof text !== 'string') throw new Error(`rule field ${field} must be text, not ${JSON.stringify(text)}`);
      }
      const { seriesDescription, callingAe } = rule as RoutingRule;
      if (callingAe !== undefined && !isAeTitle(callingAe)) throw new Error(`rule callingAe "${callingAe}" must be ${AE_TITLE_RULE}`);
      if (seriesDescription !== undefined) {
        try {
          new RegExp(seriesDescription, 'i');
        } catch (error) {
          throw new Error(`rule seriesDescription must be a regular expression: ${(error as Error).message}`);
        }
      }
    }
  },
  coerce: parseJsonOr,
});

export interface DestinationTls {
  /** PEM file of the CA(s) the archive's certificate must chain to; empty: the system's CAs. */
  ca?: string;
  /** Check the archive's certificate (default true); false only for test set-ups. */
  rejectUnauthorized?: boolean;
}

export interface Destination {
  aeTitle: string;
  host: string;
  port: number;
  /** Absent or false: plain TCP. true or an object: DICOM over TLS (PS3.15 B.1). */
  tls?: boolean | DestinationTls;
  /** Results flagged for review reach this destination only once a person released them on the page. */
  holdFlagged?: boolean;
}

const DESTINATION_SHAPE = 'a list of {aeTitle, host, port, tls?, holdFlagged?}';
function destinationProblem(d: unknown): string | undefined {
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return `${JSON.stringify(d)} is not a destination`;
  const { aeTitle, host, port, tls, holdFlagged, ...unknown } = d as Partial<Destination>;
  const name = typeof aeTitle === 'string' ? aeTitle : JSON.stringify(aeTitle);
  if (Object.keys(unknown).length > 0) return `destination ${name} has no field '${Object.keys(unknown)[0]}'`;
  if (!isAeTitle(aeTitle)) return `destination AE title ${JSON.stringify(aeTitle)} must be ${AE_TITLE_RULE}`;
  if (!isHost(host)) return `destination ${name}: host ${JSON.stringify(host)} must be ${HOST_RULE}`;
  if (!isWholeNumber(port, 1, 65535)) return `destination ${name}: port ${JSON.stringify(port)} must be a TCP port 1–65535`;
  if (holdFlagged !== undefined && typeof holdFlagged !== 'boolean') return `destination ${name}: holdFlagged must be true or false`;
  if (tls === undefined || typeof tls === 'boolean') return undefined;
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) return `destination ${name}: tls must be true, false or {ca?, rejectUnauthorized?}`;
  const { ca, rejectUnauthorized, ...other } = tls;
  if (Object.keys(other).length > 0) return `destination ${name}: tls has no field '${Object.keys(other)[0]}' (allowed: ca, rejectUnauthorized)`;
  if (ca !== undefined && typeof ca !== 'string') return `destination ${name}: tls.ca must be the path of a PEM file`;
  if (rejectUnauthorized !== undefined && typeof rejectUnauthorized !== 'boolean') return `destination ${name}: tls.rejectUnauthorized must be true or false`;
  return undefined;
}

convict.addFormat({
  name: 'dicom-destinations',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error(`must be ${DESTINATION_SHAPE}`);
    for (const d of value) {
      const problem = destinationProblem(d);
      if (problem) throw new Error(`must be ${DESTINATION_SHAPE}; ${problem}`);
    }
  },
  coerce: parseJsonOr,
});

/** The names of the formats above: every leaf of the schema uses one of them or an enumeration. */
export const FORMAT_NAMES = [
  'whole-number',
  'positive-whole-number',
  'tcp-port',
  'pdu-length',
  'non-negative-number',
  'positive-number',
  'fraction',
  'duration',
  'positive-duration',
  'completion-grace',
  'flag',
  'text',
  'path',
  'optional-path',
  'optional-postgres-url',
  'node-name',
  'dicom-long-string',
  'ae-title',
  'host',
  'bind-address',
  'text-list',
  'positive-number-list',
  'positive-whole-number-list',
  'uid-list',
  'node-roles',
  'dicom-uid-root',
  'calling-ae-list',
  'routing-rules',
  'dicom-destinations',
] as const;
