// Specific Character Set (0008,0005): which decoder reads an instance's text, and what to do when the value is
// unknown or broken. A wrong character set must never cost a series: text is then read as ISO 8859-1, which
// keeps every byte (and is the default repertoire for ASCII), and the problem is reported for the log.

/** The defined terms of PS3.3 C.12.1.1.2, as WHATWG encoding labels (what TextDecoder knows). */
export const CHARACTER_SETS: Readonly<Record<string, string>> = {
  '': 'iso-8859-1',
  'ISO_IR 6': 'iso-8859-1',
  'ISO_IR 100': 'iso-8859-1',
  'ISO_IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9',
  'ISO_IR 203': 'iso-8859-15',
  'ISO_IR 13': 'shift_jis',
  'ISO_IR 166': 'windows-874',
  'ISO_IR 192': 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
  'ISO 2022 IR 6': 'iso-8859-1',
  'ISO 2022 IR 100': 'iso-8859-1',
  'ISO 2022 IR 101': 'iso-8859-2',
  'ISO 2022 IR 109': 'iso-8859-3',
  'ISO 2022 IR 110': 'iso-8859-4',
  'ISO 2022 IR 144': 'iso-8859-5',
  'ISO 2022 IR 127': 'iso-8859-6',
  'ISO 2022 IR 126': 'iso-8859-7',
  'ISO 2022 IR 138': 'iso-8859-8',
  'ISO 2022 IR 148': 'iso-8859-9',
  'ISO 2022 IR 203': 'iso-8859-15',
  'ISO 2022 IR 13': 'shift_jis',
  'ISO 2022 IR 166': 'windows-874',
  // Code extensions with multi-byte sets: their escape sequences say where each run of bytes begins.
  'ISO 2022 IR 87': 'iso-2022-jp',
  'ISO 2022 IR 159': 'iso-2022-jp',
  'ISO 2022 IR 149': 'euc-kr',
  'ISO 2022 IR 58': 'gbk',
};
const MULTI_BYTE_EXTENSIONS = new Set(['ISO 2022 IR 87', 'ISO 2022 IR 159', 'ISO 2022 IR 149', 'ISO 2022 IR 58']);

/** How an instance's text is decoded. */
export interface CharacterSet {
  /** The value as received (terms separated by backslashes). */
  declared: string;
  /** The one defined term whose decoder reads the text ('' for ISO 8859-1, the fallback). */
  term: string;
  /** Whether decoded values may hold ISO 2022 escape sequences to remove (code extensions). */
  escapes: boolean;
  /** What is wrong with the declared value and what was done instead; empty when nothing is. */
  problems: string[];
}

/**
 * Interprets a Specific Character Set value. Unknown terms and empty values after the first are left out and
 * reported; with none left, text is read as ISO 8859-1. Of several terms (code extensions) the multi-byte one is
 * used, whose decoder follows the escape sequences; the others are reached through them or are ASCII.
 */
export function interpretCharacterSet(declared: string): CharacterSet {
  const terms = declared.split('\\').map((t) => t.replace(/\0/g, '').trim());
  const problems: string[] = [];
  const usable: string[] = [];
  terms.forEach((term, i) => {
    if (i > 0 && term === '') problems.push(`value ${i + 1} is empty`);
    else if (!(term in CHARACTER_SETS)) problems.push(`'${printable(term)}' is not a defined term`);
    else usable.push(term);
  });
  const term = [...usable].reverse().find((t) => MULTI_BYTE_EXTENSIONS.has(t)) ?? usable[0] ?? '';
  if (problems.length) problems.push(`text read as ${term === '' ? 'ISO 8859-1, which keeps every byte' : term}`);
  const summary = problems.length ? [`Specific Character Set '${printable(declared.replace(/[\0 ]+$/, ''))}': ${problems.join('; ')}`] : [];
  // Escape sequences belong to code extensions; in any other text they are debris to drop, not characters.
  return { declared, term, escapes: terms.length > 1 || problems.length > 0, problems: summary };
}

/** Decodes the bytes of one text value (the receiver's header attributes) as `characterSet` says. */
export function decodeText(bytes: Uint8Array, characterSet: CharacterSet): string {
  const text = new TextDecoder(CHARACTER_SETS[characterSet.term] ?? 'iso-8859-1').decode(bytes);
  return characterSet.escapes ? withoutEscapes(text) : text;
}

const ESCAPE = /\x1b(?:[$()*+\-./,][A-Za-z@]?[A-Za-z@])?/g;

/** A decoded value without the ISO 2022 escape sequences (or broken ones) that a single-set decoder leaves in. */
export function withoutEscapes(text: string): string {
  return text.replace(ESCAPE, '');
}

/** Removes escape sequences from every string of a naturalized dataset, sequences included. */
export function stripEscapes(value: unknown): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (typeof v === 'string') value[i] = withoutEscapes(v);
      else stripEscapes(v);
    });
  } else if (value && typeof value === 'object' && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (typeof record[key] === 'string') record[key] = withoutEscapes(record[key] as string);
      else stripEscapes(record[key]);
    }
  }
}

/** Whether a string of a naturalized dataset holds U+FFFD: bytes the decoder could not read. */
export function holdsReplacedBytes(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\ufffd');
  if (Array.isArray(value)) return value.some(holdsReplacedBytes);
  if (value && typeof value === 'object' && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) return Object.values(value).some(holdsReplacedBytes);
  return false;
}

/** A term as it may appear in a log line: control characters and bytes beyond ASCII shown as escapes, cut short. */
function printable(text: string): string {
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return shown.replace(/[^\x20-\x7e…]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
