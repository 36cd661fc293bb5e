// Who is asking: the login form and its limits on guessing, the session cookie, logging out, and the checks every
// form POST passes (the session's CSRF token, and the admin role for an action).
import type http from 'node:http';
import type { Session } from './accounts.js';
import { sameToken } from './accounts.js';
import type { WebContext } from './context.js';
import { html, page } from './html.js';
import { LoginThrottle } from './login-throttle.js';
import { pageUser } from './page-parts.js';
import { clientAddress, cookies, localPath, readForm } from './request.js';
import { redirect, sendHtml } from './respond.js';

const COOKIE = 'brainstrip_session';

export class Authentication {
  private readonly throttle: LoginThrottle;

  constructor(private readonly ctx: WebContext) {
    const ops = ctx.config.ops;
    this.throttle = new LoginThrottle({ failuresPerUser: ops.loginFailuresPerUser, failuresPerClient: ops.loginFailuresPerClient, windowMs: ops.loginWindowMinutes * 60_000 });
  }

  /** The live session of the request's cookie, and its token. */
  async sessionOf(req: http.IncomingMessage): Promise<{ token?: string; session?: Session }> {
    const token = cookies(req).get(COOKIE);
    return { token, session: await this.ctx.accounts.session(token) };
  }

  /** GET /login shows the form; POST /login checks the user's password and sets the session cookie. */
  async login(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'POST') return sendHtml(res, 200, await this.loginPage(localPath(url.searchParams.get('next'), '/')));
    const { accounts } = this.ctx;
    const form = await readForm(req);
    const name = form.get('user') ?? '';
    const next = localPath(form.get('next'), '/');
    const admission = this.throttle.admit(clientAddress(req), name);
    if (admission.refused) {
      const { by, retryAfterSeconds, first } = admission.refused;
      const minutes = Math.ceil(retryAfterSeconds / 60);
      const who = by === 'user' ? 'this user' : 'this address';
      // A flood from one address is audited once per lockout: the audit log is not to be flooded in its turn.
      if (by === 'user' || first) await accounts.audit(name || '(empty)', 'login', null, `refused: too many failed logins for ${who} (${clientAddress(req)})`);
      return sendHtml(res, 429, await this.loginPage(next, `Too many failed logins for ${who}; try again in ${minutes} minute(s).`), { 'retry-after': String(retryAfterSeconds) });
    }
    const login = await accounts.login(name, form.get('password') ?? '');
    if (!login) {
      await accounts.audit(name || '(empty)', 'login', null, 'refused: wrong user name or password');
      return sendHtml(res, 401, await this.loginPage(next, 'Wrong user name or password.'));
    }
    admission.succeeded();
    await accounts.audit(name, 'login', null, 'ok');
    redirect(res, next, { 'set-cookie': this.cookie(login.token, this.ctx.config.ops.sessionHours * 3600) });
  }

  async logout(res: http.ServerResponse, session: Session, token: string | undefined): Promise<void> {
    if (token) await this.ctx.accounts.logout(token);
    await this.ctx.accounts.audit(session.user.name, 'logout', null, 'ok');
    redirect(res, '/login', { 'set-cookie': this.cookie('', 0) });
  }

  /** Answers a request without a session: to the login form for a page, 403 for a POST. */
  refuseAnonymous(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    if (req.method === 'GET' || req.method === 'HEAD') redirect(res, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
    else sendHtml(res, 403, page({ title: 'Forbidden' }, html`<h1>Log in first</h1>`));
  }

  /** Whether a form POST carries the session's CSRF token; refuses it (403, audited) when not. */
  async formIsGenuine(res: http.ServerResponse, session: Session, form: URLSearchParams, route: string): Promise<boolean> {
    if (sameToken(form.get('csrf') ?? undefined, session.csrf)) return true;
    await this.ctx.accounts.audit(session.user.name, route, null, 'refused: missing or wrong CSRF token');
    sendHtml(res, 403, page({ title: 'Forbidden', user: pageUser(session) }, html`<h1>Refused</h1><p>The form did not carry this session's CSRF token. Reload the page and try again.</p>`));
    return false;
  }

  /** Whether the session may act; refuses it (403, audited) when it is not an admin's. */
  async mayAct(res: http.ServerResponse, session: Session, route: string): Promise<boolean> {
    if (session.user.role === 'admin') return true;
    await this.ctx.accounts.audit(session.user.name, route, null, 'refused: admin role needed');
    sendHtml(res, 403, page({ title: 'Forbidden', user: pageUser(session) }, html`<h1>Refused</h1><p>This action needs the admin role; ${session.user.name} is a ${session.user.role}.</p>`));
    return false;
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    const secure = this.ctx.config.ops.secureCookie ? '; Secure' : '';
    return `${COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure}`;
  }

  private async loginPage(next: string, error?: string): Promise<string> {
    const none = (await this.ctx.accounts.users()).length === 0;
    const body = html`<form class="login" method="post" action="/login">
      <h1>brainstrip · ${this.ctx.config.receive.aeTitle}</h1>
      ${none ? html`<p class="note error">No user yet. On the node, create the first admin: <code>brainstrip user add NAME --role admin</code></p>` : ''}
      <input type="hidden" name="next" value="${next}">
      <label>User <input name="user" autocomplete="username" required autofocus></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit" class="primary">Log in</button></form>`;
    return page({ title: 'Log in', error }, body);
  }
}
