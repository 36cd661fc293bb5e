// Value checks per VR (PS3.5 6.2) for attributes taken from a source: each returns undefined when the source value
// is not conformant, so that it is dropped or cut rather than copied into an object an archive may reject.

/** The first value of a possibly multi-valued attribute, as text. */
export function firstString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null) return undefined;
  return String(v);
}

/** LO / SH / CS / LT text, control characters and backslashes removed, cut to `max` characters. */
export function text(value: unknown, max: number): string | undefined {
  const s = firstString(value);
  if (s === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f\\]/g, ' ').trim();
  return clean === '' ? undefined : [...clean].slice(0, max).join('').trim();
}

export function codeString(value: unknown): string | undefined {
  const s = text(value, 16);
  return s !== undefined && /^[A-Z0-9 _]+$/.test(s) ? s : undefined;
}

export function date(value: unknown): string | undefined {
  const s = firstString(value)?.trim();
  return s !== undefined && /^\d{8}$/.test(s) ? s : undefined;
}

export function time(value: unknown): string | undefined {
  const s = firstString(value)?.trim();
  return s !== undefined && /^([01]\d|2[0-3])([0-5]\d([0-5]\d(\.\d{1,6})?)?)?$/.test(s) ? s : undefined;
}

/** DS: a decimal that fits in 16 characters. */
export function decimal(value: unknown): number | undefined {
  const s = firstString(value);
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

export function integer(value: unknown): number | undefined {
  const n = decimal(value);
  return n !== undefined && Number.isInteger(n) && Math.abs(n) < 2 ** 31 ? n : undefined;
}

/** DS values as dcmjs writes them: numbers are formatted to at most 16 characters. */
export function ds(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
  for (let digits = 10; digits > 0; digits--) {
    const s = String(Number(n.toPrecision(digits)));
    if (s.length <= 16) return s;
  }
  return n.toExponential(6);
}

/** PN, as dcmjs naturalizes it ({Alphabetic, Ideographic, Phonetic}) or as a plain string. */
export function personName(value: unknown): Array<{ Alphabetic?: string; Ideographic?: string; Phonetic?: string }> | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null) return undefined;
  const clean = (s: unknown) => {
    if (typeof s !== 'string') return undefined;
    // eslint-disable-next-line no-control-regex
    const c = s.replace(/[\u0000-\u001f\u007f\\=]/g, '').trim();
    return c === '' ? undefined : [...c].slice(0, 64).join('');
  };
  if (typeof v === 'string') {
    const [alphabetic, ideographic, phonetic] = v.split('=');
    const pn = { Alphabetic: clean(alphabetic), Ideographic: clean(ideographic), Phonetic: clean(phonetic) };
    return pn.Alphabetic || pn.Ideographic || pn.Phonetic ? [stripUndefined(pn)] : undefined;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const pn = { Alphabetic: clean(o.Alphabetic), Ideographic: clean(o.Ideographic), Phonetic: clean(o.Phonetic) };
    return pn.Alphabetic || pn.Ideographic || pn.Phonetic ? [stripUndefined(pn)] : undefined;
  }
  return undefined;
}

/** The object without its undefined members: absent attributes stay absent. */
export function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Type-2 attributes: present, empty when the source has no conformant value. */
export function type2<T>(v: T | undefined): T | '' {
  return v === undefined ? '' : v;
}

/** A positive DS value, or undefined (Type 3 attributes such as PatientSize). */
export function optionalDs(value: unknown): string | undefined {
  const n = decimal(value);
  return n === undefined || n <= 0 ? undefined : ds(n);
}
