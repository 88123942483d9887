/**
 * Who may talk to the inspector. It listens on 127.0.0.1 only, but any page open in the same browser
 * can still send requests there; these checks keep such a page from reading (DNS rebinding) or
 * changing (cross-site request forgery) anything:
 *
 * - every request must name the inspector itself in `Host` (`127.0.0.1:<port>` or `localhost:<port>`):
 *   a rebound domain carries its own name there;
 * - a request that changes something is a POST carrying the token the page got embedded in its HTML,
 *   random per start (another origin cannot read the page, so it cannot learn the token), and, when a
 *   browser says where it comes from (`Origin`, `Sec-Fetch-Site`), from this origin only.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const TOKEN_HEADER = 'x-okepay-inspector-token';

/** 32 random bytes as hex: the token of one inspector run. */
export function newInspectorToken(): string {
  return randomBytes(32).toString('hex');
}

/** The `Host` values that name the inspector listening on `port`. */
export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
}

export type GuardVerdict = { ok: true } | { ok: false; status: 403 | 421; message: string };

/** Any request: it must be addressed to the inspector by name, not to some other host that resolves here. */
export function checkHost(headers: IncomingHttpHeaders, port: number): GuardVerdict {
  const host = headers.host?.toLowerCase();
  if (host !== undefined && allowedHosts(port).has(host)) return { ok: true };
  return {
    ok: false,
    status: 421,
    message: `The inspector answers only to http://127.0.0.1:${port} and http://localhost:${port}`,
  };
}

function tokenMatches(given: string | string[] | undefined, token: string): boolean {
  if (typeof given !== 'string' || given.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

/** A request that changes something: same origin (when the browser says), and the run's token. */
export function checkAction(headers: IncomingHttpHeaders, port: number, token: string): GuardVerdict {
  const origin = headers.origin;
  if (origin !== undefined) {
    const allowed = [...allowedHosts(port)].map((host) => `http://${host}`);
    if (!allowed.includes(origin.toLowerCase())) {
      return { ok: false, status: 403, message: 'Cross-origin requests are refused' };
    }
  }
  // Browsers send it on every request; `none` is a person typing the address, never a POST.
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') {
    return { ok: false, status: 403, message: 'Cross-site requests are refused' };
  }
  if (!tokenMatches(headers[TOKEN_HEADER], token)) {
    return {
      ok: false,
      status: 403,
      message: `Missing or wrong ${TOKEN_HEADER}: reload the inspector page (the token changes at every start)`,
    };
  }
  return { ok: true };
}
