/** The console's small pure parts: Range parsing, --listen, payload validation, topics, sessions, POST rules. */
import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { postRefusal } from '../../agent/console/http-security.js';
import { isLoopback, parseListen } from '../../agent/console/listen-address.js';
import { parseEventMessage, parseHealthMessage, parseStatusMessage } from '../../agent/console/payloads.js';
import { parseRange } from '../../agent/console/range.js';
import { Sessions, cookieValue, type SessionKeeper } from '../../agent/console/sessions.js';
import { checkShareGroup, classifyTopic } from '../../agent/console/topics.js';
import { alertQuery, parseReview } from '../../agent/console/api-routes.js';

const buf = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('parseRange', () => {
  it('reads one bytes range and answers unsatisfiable past the end', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=90-500', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined(); // several: the whole file
    expect(parseRange('items=0-1', 100)).toBeUndefined();
  });
});

describe('--listen', () => {
  it('parses host:port, [v6]:port and a bare port; names what is wrong', () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(parseListen('8081')).toEqual({ host: '127.0.0.1', port: 8081 });
    expect(parseListen('0.0.0.0:70000')).toEqual({ error: expect.stringContaining('expected HOST:PORT') });
    expect(parseListen('pi.local:80')).toEqual({ error: expect.stringContaining('"pi.local" is not an IP address') });
  });

  it('tells loopback from the rest', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '192.168.4.1', '::', '::ffff:10.0.0.1'].some(isLoopback)).toBe(false);
  });
});

describe('payload validation', () => {
  const event = { id: 'e1', label: 'gunshot', category: 'threat', confidence: 0.9, start: '2026-03-01T12:00:00Z', end: '2026-03-01T12:00:01Z', modelLabels: [], extra: 'dropped' };

  it('turns a valid event into an Alert: the topic names the device, rev 1 and closed by default, unknown fields and the clip path dropped', () => {
    const r = parseEventMessage('p/dev/events', 'dev', buf({ ...event, device: 'liar', clip: { path: '/etc/passwd', format: 'wav', durationMs: 1, sha256: 'c'.repeat(64) } }), 0);
    expect(r).toEqual({ ok: true, value: { ...event, extra: undefined, device: 'dev', rev: 1, state: 'closed', receivedAt: '1970-01-01T00:00:00.000Z', clip: { format: 'wav', durationMs: 1, sha256: 'c'.repeat(64) } } });
  });

  it('names the topic and the fields at fault', () => {
    expect(parseEventMessage('p/dev/events', 'dev', buf('nope'), 0)).toEqual({ ok: false, reason: 'p/dev/events: payload is not JSON' });
    const bad = parseEventMessage('p/dev/events', 'dev', buf({ ...event, confidence: 7, category: 'ufo' }), 0);
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/^p\/dev\/events: not a valid event \(category: .*; confidence: .*\)$/);
    expect(parseEventMessage('t', 'd', buf({ ...event, id: 'a\u0007b' }), 0).ok).toBe(false);
    expect(parseEventMessage('t', 'd', Buffer.alloc(70_000, 32), 0)).toEqual({ ok: false, reason: 't: payload of 70000 bytes (at most 65536 accepted)' });
    expect(parseStatusMessage('t', buf({ state: 'asleep' })).ok).toBe(false);
    expect(parseHealthMessage('t', buf({ at: 'soon' })).ok).toBe(false);
  });

  it('keeps the health fields the page shows and the position', () => {
    const r = parseHealthMessage('t', buf({ at: '2026-03-01T12:00:00Z', batteryPercent: 50, queue: { depth: 2, byPriority: {} }, location: { lat: 1, lon: 2 }, load: [1] }));
    expect(r).toEqual({ ok: true, value: { health: { at: '2026-03-01T12:00:00Z', batteryPercent: 50, queue: { depth: 2 } }, location: { lat: 1, lon: 2 } } });
  });
});

describe('topics', () => {
  it('classifies <prefix>/<device>/<kind> only', () => {
    expect(classifyTopic('earshot', 'earshot/d1/events')).toEqual({ device: 'd1', kind: 'events' });
    expect(classifyTopic('a/b', 'a/b/d1/health')).toEqual({ device: 'd1', kind: 'health' });
    expect(classifyTopic('earshot', 'earshot/d1/response/clip/get')).toBeUndefined();
    expect(classifyTopic('earshot', 'other/d1/status')).toBeUndefined();
  });

  it('accepts a share group of one plain level', () => {
    expect(checkShareGroup('hq-1')).toBeUndefined();
    for (const g of ['', 'a/b', 'a+', '#', 'a b']) expect(checkShareGroup(g)).toMatch(/expected a group name/);
  });
});

describe('sessions and POST rules', () => {
  it('sessions expire; failed logins are limited per address', () => {
    let now = 0;
    const s = new Sessions({ ttlMs: 1000, clock: () => now, maxFailures: 2, failureWindowMs: 100 });
    const t = s.create();
    expect(s.valid(t)).toBe(true);
    expect(s.valid('other')).toBe(false);
    now = 1000;
    expect(s.valid(t)).toBe(false);
    s.failed('a');
    s.failed('a');
    expect([s.mayTry('a'), s.mayTry('b')]).toEqual([false, true]);
    now = 1200;
    expect(s.mayTry('a')).toBe(true);
    expect(cookieValue('x=1; earshot_session=abc; y=2', 'earshot_session')).toBe('abc');
  });

  it('forgets expired sessions and old failures that are never presented again', () => {
    let now = 0;
    const s = new Sessions({ ttlMs: 1000, clock: () => now, failureWindowMs: 100 });
    for (let i = 0; i < 5; i++) s.create();
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) s.failed(a);
    expect(s.held).toEqual({ sessions: 5, addresses: 3 });
    now = 1000;
    const fresh = s.create();
    expect(s.held).toEqual({ sessions: 1, addresses: 0 });
    s.failed('10.0.0.4');
    expect(s.held).toEqual({ sessions: 1, addresses: 1 });
    expect(s.valid(fresh)).toBe(true);
  });

  it('sessions kept by a keeper outlive the process, as digests bound to the password; a failing keeper costs no login', () => {
    let now = 0;
    const kept = new Map<string, number>();
    const keeper: SessionKeeper = {
      loadSessions: (t) => [...kept].filter(([, until]) => until > t),
      saveSession: (d, until) => void kept.set(d, until),
      removeSession: (d) => void kept.delete(d),
      removeExpiredSessions: (t) => {
        for (const [d, until] of kept) if (until <= t) kept.delete(d);
      },
    };
    const first = new Sessions({ keeper, secret: 'salt-1:hash-1', ttlMs: 1000, clock: () => now });
    const token = first.create();
    const other = first.create();
    expect(kept.size).toBe(2);
    expect([...kept.keys()].some((d) => d.includes(token))).toBe(false); // only digests are kept
    // A restart: the same keeper and password.
    const again = new Sessions({ keeper, secret: 'salt-1:hash-1', ttlMs: 1000, clock: () => now });
    expect([again.valid(token), again.valid(other), again.valid('forged')]).toEqual([true, true, false]);
    again.end(other);
    expect(kept.size).toBe(1);
    // A new password ends every session.
    expect(new Sessions({ keeper, secret: 'salt-2:hash-2', clock: () => now }).valid(token)).toBe(false);
    now = 1000;
    expect(new Sessions({ keeper, secret: 'salt-1:hash-1', clock: () => now }).valid(token)).toBe(false);
    const broken: SessionKeeper = {
      loadSessions: () => {
        throw new Error('disk I/O error');
      },
      saveSession: () => {
        throw new Error('database or disk is full');
      },
      removeSession: () => undefined,
      removeExpiredSessions: () => undefined,
    };
    const s = new Sessions({ keeper: broken, clock: () => now });
    expect(s.valid(s.create())).toBe(true);
  });

  it('refuses a POST without the JSON type, the header, or with another origin', () => {
    const req = (headers: Record<string, string>) => ({ headers: { host: 'pi:8080', ...headers } }) as unknown as http.IncomingMessage;
    const ok = { 'content-type': 'application/json; charset=utf-8', 'x-earshot-request': '1' };
    expect(postRefusal(req(ok))).toBeUndefined();
    expect(postRefusal(req({ ...ok, origin: 'http://pi:8080' }))).toBeUndefined();
    expect(postRefusal(req({ ...ok, origin: 'http://pi:8081' }))).toMatch(/origin http:\/\/pi:8081 refused/);
    expect(postRefusal(req({ ...ok, origin: 'null' }))).toMatch(/refused/);
    expect(postRefusal(req({ ...ok, 'content-type': 'text/plain' }))).toMatch(/Content-Type/);
    expect(postRefusal(req({ 'content-type': 'application/json' }))).toMatch(/X-Earshot-Request/);
  });

  it('validates the review body and the alert query', () => {
    expect(parseReview({ verdict: 'confirmed' })).toEqual({ verdict: 'confirmed', note: '' });
    expect(parseReview({ verdict: null })).toBeNull();
    expect(() => parseReview({ verdict: 'maybe' })).toThrow('verdict: expected "confirmed", "false_alarm" or null, got "maybe"');
    expect(() => parseReview({ verdict: 'confirmed', note: 'x'.repeat(2001) })).toThrow('note: at most 2000 characters');
    expect(alertQuery(new URLSearchParams('label=dog&limit=5&since=2026-03-01T00:00:00Z'))).toEqual({ label: 'dog', limit: 5, sinceMs: Date.parse('2026-03-01T00:00:00Z') });
    expect(() => alertQuery(new URLSearchParams('limit=0'))).toThrow('limit=0: expected a whole number from 1 to 2000');
  });
});
