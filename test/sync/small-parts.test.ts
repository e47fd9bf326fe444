import { describe, expect, it } from 'vitest';
import { AlertDeduper, alertText, parseAlert } from '../../agent/sync/alert-consumer.js';
import { ReconnectBackoff } from '../../agent/sync/backoff.js';
import { describeLinkError, displayUrl } from '../../agent/sync/link-errors.js';
import { RateLimiter } from '../../agent/sync/rate-limiter.js';
import { topicsFor } from '../../agent/sync/topics.js';

describe('ReconnectBackoff', () => {
  it('doubles from min to max, takes off up to half at random, and starts over after a success', () => {
    const full = new ReconnectBackoff({ minMs: 1000, maxMs: 8000, random: () => 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => full.next())).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    expect(full.attempts).toBe(6);
    full.reset();
    expect(full.next()).toBe(1000);
    const half = new ReconnectBackoff({ minMs: 1000, maxMs: 8000, random: () => 0.999999 });
    expect([1, 2, 3, 4].map(() => half.next())).toEqual([500, 1000, 2000, 4000]);
    const rnd = new ReconnectBackoff({ minMs: 100, maxMs: 60_000 });
    for (let i = 1; i <= 30; i++) {
      const d = rnd.next();
      expect(d).toBeGreaterThanOrEqual(rnd.step(i) / 2);
      expect(d).toBeLessThanOrEqual(rnd.step(i));
    }
  });
});

describe('RateLimiter', () => {
  it('allows a one-second burst, then spaces messages to the message rate', () => {
    let now = 0;
    const rl = new RateLimiter({ messagesPerSec: 4, bytesPerSec: 0 }, () => now);
    for (let i = 0; i < 4; i++) {
      expect(rl.delayFor(100)).toBe(0);
      rl.take(100);
    }
    expect(rl.delayFor(100)).toBe(250);
    now += 250;
    expect(rl.delayFor(100)).toBe(0);
  });

  it('limits bytes per second, lets an oversize message through once full, then makes up for it', () => {
    let now = 0;
    const rl = new RateLimiter({ messagesPerSec: 0, bytesPerSec: 1000 }, () => now);
    expect(rl.delayFor(600)).toBe(0);
    rl.take(600);
    expect(rl.delayFor(600)).toBe(200);
    now += 1000;
    expect(rl.delayFor(5000)).toBe(0); // larger than a second's allowance: goes when the bucket is full
    rl.take(5000);
    expect(rl.delayFor(10)).toBe(4010);
    rl.setLimits({ messagesPerSec: 0, bytesPerSec: 0 });
    expect(rl.limited).toBe(false);
    expect(rl.delayFor(1e9)).toBe(0);
  });
});

describe('link error messages', () => {
  const ctx = { url: 'mqtts://user:secret@broker.example:8883', ca: '/etc/earshot/ca.pem', connectTimeoutSec: 30 };
  const err = (message: string, code: string | number) => Object.assign(new Error(message), { code });

  it('say what happened, where, and which setting to look at, without the password', () => {
    expect(displayUrl(ctx.url)).toBe('mqtts://broker.example:8883');
    expect(describeLinkError(err('connect ECONNREFUSED', 'ECONNREFUSED'), ctx)).toEqual({ message: 'mqtts://broker.example:8883: connection refused (is the broker running and listening on that port?)', code: 'ECONNREFUSED' });
    expect(describeLinkError(err('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'), ctx).message).toMatch(/TLS certificate does not verify .*check mqtt\.tls\.ca \(\/etc\/earshot\/ca\.pem\)/);
    expect(describeLinkError(err('Connection refused: Not authorized', 135), ctx)).toMatchObject({ message: expect.stringMatching(/refused the connection: Not authorized \(reason code 135\); check mqtt\.username/), code: 'connack.135' });
    expect(describeLinkError(new Error('connack timeout'), ctx).message).toMatch(/no answer to CONNECT within 30 s/);
    expect(describeLinkError(err('getaddrinfo ENOTFOUND broker.example', 'ENOTFOUND'), ctx).message).toMatch(/host name not found/);
    for (const m of [describeLinkError(err('x', 'ECONNRESET'), ctx).message, describeLinkError(new Error('anything'), ctx).message]) expect(m).not.toContain('secret');
  });
});

describe('topics and the alert consumer', () => {
  it('builds the device topics and recognises requests', () => {
    const t = topicsFor('earshot/', 'guardian-07');
    expect([t.status, t.events, t.health, t.requests, t.response('config/get')]).toEqual([
      'earshot/guardian-07/status',
      'earshot/guardian-07/events',
      'earshot/guardian-07/health',
      'earshot/guardian-07/request/#',
      'earshot/guardian-07/response/config/get',
    ]);
    expect(t.actionOf('earshot/guardian-07/request/clip/get')).toBe('clip/get');
    expect(t.actionOf('earshot/guardian-08/request/status')).toBeUndefined();
  });

  it('dedupes by id (payload or user property) and prints a readable line', () => {
    const d = new AlertDeduper(2);
    expect([d.first('a'), d.first('a'), d.first('b'), d.first('c'), d.first('a')]).toEqual([true, false, true, true, true]); // 'a' forgotten past capacity
    expect(d.duplicates).toBe(1);
    const ev = { id: 'e1', seq: 7, device: 'g7', label: 'gunshot', category: 'threat', confidence: 0.934, start: '2026-11-28T11:02:03.120Z' };
    const parsed = parseAlert({ topic: 'earshot/g7/events', payload: Buffer.from(JSON.stringify(ev)) });
    expect(parsed).toMatchObject({ id: 'e1', device: 'g7' });
    expect(alertText(parsed as never)).toBe('2026-11-28 11:02:03Z  g7  THREAT    gunshot       0.93  seq 7  id e1');
    const { id: _id, ...noId } = ev;
    expect(parseAlert({ topic: 'earshot/g7/events', payload: Buffer.from(JSON.stringify(noId)), properties: { userProperties: { id: 'from-prop' } } })).toMatchObject({ id: 'from-prop' });
    expect(parseAlert({ topic: 'earshot/g7/events', payload: Buffer.from('{oops') })).toEqual({ error: 'earshot/g7/events: payload is not JSON' });
  });
});
