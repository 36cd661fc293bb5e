// What the operations page reads from a request: cookies, a posted form, and a path to go to next. Each is read
// defensively: a request is written by whoever can reach the port, not only by our own pages.
import type http from 'node:http';

const MAX_FORM_BYTES = 64 * 1024;

/** The request's cookies; a pair that does not decode (`other=%`) is left out rather than failing the request. */
export function cookies(req: http.IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    try {
      out.set(part.slice(0, i).trim(), decodeURIComponent(part.slice(i + 1).trim()));
    } catch {
      // Another application's cookie on the same host may hold anything; it is not ours to judge.
    }
  }
  return out;
}

export async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) return new URLSearchParams();
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const ORIGIN = 'http://x.invalid';

/**
 * `value` when a browser would read it as a path on this site, else `fallback`. Browsers treat a backslash as a
 * slash and drop tabs and line breaks anywhere in a URL, so `/\evil.example` and `/<TAB>/evil.example` name another
 * host: such characters are refused outright, and what remains must resolve to this origin.
 */
export function localPath(value: string | null | undefined, fallback: string): string {
  if (!value || !value.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(value)) return fallback;
  try {
    return new URL(value, ORIGIN).origin === ORIGIN ? value : fallback;
  } catch {
    return fallback;
  }
}

/** `location` (a local path) with a note or an error for the page to show. */
export function withNote(location: string, note: string, error = false): string {
  const url = new URL(location, ORIGIN);
  url.searchParams.set(error ? 'error' : 'note', note);
  // `/.//x` resolves to the path `//x`, which on its own would name a host.
  return `${url.pathname.replace(/^\/+/, '/')}${url.search}`;
}

/** The address a request came from, the unit of the login limits. */
export function clientAddress(req: http.IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
