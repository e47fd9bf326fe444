/**
 * Turns what mqtt.js and Node report when a connection fails into one line a technician can act
 * on: what happened, at which URL, and which setting to look at. Never includes a password.
 */
import { errnoCode } from '../errors.js';

/** The broker URL without user info, for messages and logs. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}

const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export interface LinkContext {
  url: string;
  /** mqtt.tls.ca, for the hint on certificate errors. */
  ca?: string;
  cert?: string;
  connectTimeoutSec?: number;
}

/** A readable description of a connection failure. */
export function describeLinkError(err: unknown, ctx: LinkContext): { message: string; code?: string } {
  const url = displayUrl(ctx.url);
  const raw = err instanceof Error ? err.message : String(err);
  const code = errnoCode(err);
  const numeric = typeof (err as { code?: unknown })?.code === 'number' ? ((err as { code: number }).code) : undefined;
  const out = (message: string, c: string | undefined = code) => (c === undefined ? { message } : { message, code: c });

  if (numeric !== undefined) {
    // CONNACK refusal (MQTT 5 reason code or 3.1.1 return code).
    const hint = numeric === 4 || numeric === 5 || numeric === 134 || numeric === 135 ? '; check mqtt.username and mqtt.password/passwordFile' : numeric === 133 || numeric === 2 ? '; check mqtt.clientId' : '';
    return out(`${url}: the broker refused the connection: ${raw.replace(/^Connection refused: /, '')} (reason code ${numeric})${hint}`, `connack.${numeric}`);
  }
  switch (code) {
    case 'ECONNREFUSED':
      return out(`${url}: connection refused (is the broker running and listening on that port?)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return out(`${url}: host name not found (DNS: ${code}); check mqtt.url and the network`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return out(`${url}: host unreachable (${code}); is the link up?`);
    case 'ECONNRESET':
    case 'EPIPE':
      return out(`${url}: connection reset by the broker (${code}); wrong port or protocol (mqtt:// vs mqtts://), or a TLS listener that requires a client certificate (mqtt.tls.cert, mqtt.tls.key)`);
  }
  if (code && TLS_VERIFY_CODES.has(code)) {
    return out(`${url}: the broker's TLS certificate does not verify (${code}: ${raw}); check mqtt.tls.ca (${ctx.ca ?? 'system CAs'}) and mqtt.tls.servername`);
  }
  if (code?.startsWith('ERR_SSL_') || code?.startsWith('ERR_TLS_')) {
    // OpenSSL messages carry source paths and error stacks; the alert name is what matters.
    const alert = /(?:tlsv1\d?|sslv3) alert [a-z ]+/i.exec(raw)?.[0] ?? raw.split('\n')[0]!.trim();
    const certHint = /certificate required|handshake failure|bad certificate|unknown ca/i.test(raw)
      ? `; the broker did not accept the client certificate (mqtt.tls.cert: ${ctx.cert ?? 'none'}, mqtt.tls.key)`
      : '';
    return out(`${url}: TLS handshake failed (${alert})${certHint}`);
  }
  if (raw === 'connack timeout') {
    return out(`${url}: no answer to CONNECT within ${ctx.connectTimeoutSec ?? '?'} s (is this an MQTT broker, and the right protocol?)`, 'connack-timeout');
  }
  if (raw === 'Keepalive timeout') return out(`${url}: the broker stopped answering (keep-alive timeout)`, 'keepalive-timeout');
  return out(`${url}: ${raw}`);
}
