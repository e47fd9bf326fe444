/* global fetch */
/**
 * Calls to the console's HTTP API (agent/console/API.md). Same origin only; the session cookie
 * goes with every call. POSTs carry what the server requires against cross-site requests: a JSON
 * body and the header `X-Earshot-Request: 1` (the browser adds Origin itself).
 */

/** An API answer that was not 2xx: its status and the `{error, pending?}` body when there is one. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body && typeof body.error === 'string' ? body.error : `HTTP ${status}`);
    this.status = status;
    this.body = body ?? {};
  }
}

async function bodyOf(res) {
  try {
    return await res.json();
  } catch {
    return undefined;
  }
}

/** GET a JSON resource. */
export async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
  const body = await bodyOf(res);
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

/** POST a JSON body, answered with JSON. */
export async function postJson(path, data) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Earshot-Request': '1', Accept: 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify(data),
  });
  const body = await bodyOf(res);
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

/**
 * Why a media URL (clip or spectrogram) failed to load: an <img> or <audio> error carries no
 * status, so this asks again with fetch and reads the answer without keeping the bytes. Returns
 * `{status, pending, error}`; status 0 when the console itself cannot be reached.
 */
export async function whyNot(path) {
  try {
    const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store', headers: { Range: 'bytes=0-0' } });
    const ok = res.ok;
    const body = ok ? undefined : await bodyOf(res);
    if (ok) await res.body?.cancel();
    return { status: res.status, pending: Boolean(body?.pending), error: body?.error };
  } catch (err) {
    return { status: 0, pending: false, error: String(err?.message ?? err) };
  }
}
