// How the operations port answers: HTML pages under a strict content security policy, JSON, and redirects.
import type http from 'node:http';

export type Headers = Record<string, string | string[]>;

export function sendHtml(res: http.ServerResponse, status: number, body: string, headers: Headers = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // Only this node's own inline styles and no scripts at all; no framing (clickjacking of action buttons).
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    ...headers,
  });
  res.end(body);
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

export function redirect(res: http.ServerResponse, location: string, headers: Headers = {}): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', ...headers });
  res.end();
}
