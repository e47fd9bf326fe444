/**
 * The console's HTTP security rules (issue 14 item 5): headers on every response, and what a POST
 * must carry so another site cannot make a logged-in browser send it (CSRF): a JSON content type
 * and a custom header (neither can be sent cross-site without a CORS preflight, which the console
 * never grants), and a same-origin Origin when the browser sends one.
 */
import type http from 'node:http';

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const REQUEST_HEADER = 'x-earshot-request';

export function setSecurityHeaders(res: http.ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
}

/** Why a POST is refused (403), or undefined when it may proceed. */
export function postRefusal(req: http.IncomingMessage): string | undefined {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return 'POST needs Content-Type: application/json';
  if (req.headers[REQUEST_HEADER] !== '1') return 'POST needs the header X-Earshot-Request: 1';
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let host: string | undefined;
    try {
      const u = new URL(origin);
      host = u.protocol === 'http:' || u.protocol === 'https:' ? u.host : undefined;
    } catch {
      host = undefined;
    }
    if (!host || host !== req.headers.host) return `POST from origin ${origin} refused: only this page (${req.headers.host ?? 'same origin'}) may post`;
  }
  return undefined;
}
