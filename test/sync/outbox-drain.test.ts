import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../helpers/memory-store.js';
import { OutboxDrain } from '../../agent/sync/outbox-drain.js';
import { RateLimiter } from '../../agent/sync/rate-limiter.js';
import { FakeBroker } from './fake-broker.js';
import { EVENTS_TOPIC, makeEvent } from './helpers.js';

const flush = () => vi.advanceTimersByTimeAsync(0);

describe('OutboxDrain (fake broker, memory store)', () => {
  let store: MemoryStore;
  let broker: FakeBroker;
  let drain: OutboxDrain;

  const queue = (n: number, labelIndex?: number, from = store.storeHealth().events.total) => {
    const out = [];
    for (let i = from; i < from + n; i++) out.push(store.putEvent(makeEvent(i, labelIndex), { alert: { topic: EVENTS_TOPIC } }));
    return out;
  };
  const make = (opts: Partial<ConstructorParameters<typeof OutboxDrain>[0]> = {}) => {
    drain = new OutboxDrain({ store, broker, window: 4, ackTimeoutMs: 10_000, leaseBatch: 8, ackFlushMs: 50, pollMs: 1000, ...opts });
    return drain;
  };

  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-03-01T12:00:00Z') });
    store = new MemoryStore();
    store.open();
    broker = new FakeBroker();
  });
  afterEach(async () => {
    await drain?.stop(0);
    vi.useRealTimers();
  });

  it('publishes nothing while offline, then everything in priority then seq order, with the id user property', async () => {
    const events = queue(9);
    make().start();
    await flush();
    expect(broker.published).toHaveLength(0);
    broker.goOnline();
    await vi.advanceTimersByTimeAsync(200);
    const order = broker.published.map((p) => JSON.parse(p.payload) as { seq: number; category: string; id: string });
    expect(order.map((e) => e.seq)).toEqual([1, 4, 7, 2, 3, 5, 6, 8, 9]); // threats (every third) first
    expect(broker.published.every((p) => p.opts.qos === 1 && p.opts.retain === false)).toBe(true);
    expect(broker.published.map((p) => p.opts.properties?.userProperties?.id)).toEqual(order.map((e) => e.id));
    expect(store.storeHealth().outbox.depth).toBe(0);
    expect(events.every((e) => store.getEvent(e.id)?.alert === 'delivered')).toBe(true);
    expect(drain.stats).toMatchObject({ published: 9, acked: 9, resent: 0 });
  });

  it('keeps at most `window` messages in flight, and leaves two slots under the broker receive maximum', async () => {
    broker.autoAck = false;
    queue(20, 1);
    make({ window: 6 }).start();
    broker.maxInFlight = 5;
    broker.goOnline();
    await flush();
    expect(broker.pending()).toHaveLength(3);
    broker.pending()[0]!.ack();
    await flush();
    expect(broker.pending()).toHaveLength(3);
    expect(broker.published).toHaveLength(4);
    broker.maxInFlight = Infinity;
    broker.pending()[0]!.ack();
    await flush();
    expect(broker.pending()).toHaveLength(6);
  });

  it('removes a message from the outbox only after its PUBACK, writing acks in batches', async () => {
    broker.autoAck = false;
    queue(3, 0);
    const ackSpy = vi.spyOn(store, 'ack');
    make().start();
    broker.goOnline();
    await flush();
    expect(broker.pending()).toHaveLength(3);
    expect(store.storeHealth().outbox.depth).toBe(3);
    broker.pending()[0]!.ack();
    broker.pending()[0]!.ack();
    await flush();
    expect(store.storeHealth().outbox.depth).toBe(3); // not written yet: batched
    await vi.advanceTimersByTimeAsync(50);
    expect(store.storeHealth().outbox.depth).toBe(1);
    expect(ackSpy).toHaveBeenCalledTimes(1);
    expect(ackSpy.mock.calls[0]![0]).toHaveLength(2);
  });

  it('on disconnect puts in-flight messages back (attempt counted) and resends them first on reconnect', async () => {
    broker.autoAck = false;
    queue(6, 1);
    make({ window: 3 }).start();
    broker.goOnline();
    await flush();
    expect(broker.pending().map((p) => JSON.parse(p.payload).seq)).toEqual([1, 2, 3]);
    broker.pending()[0]!.ack(); // seq 1 made it
    await flush();
    broker.goOffline();
    await flush();
    expect(drain.stats.interrupted).toBe(3); // 2, 3 in flight + 4 sent after the ack
    broker.published.length = 0;
    broker.autoAck = true;
    broker.goOnline();
    await vi.advanceTimersByTimeAsync(100);
    expect(broker.published.map((p) => JSON.parse(p.payload).seq)).toEqual([2, 3, 4, 5, 6]);
    expect(drain.stats.resent).toBe(3);
    expect(store.storeHealth().outbox.depth).toBe(0);
  });

  it('nacks a message the broker refuses (retried later with backoff) without holding back the others', async () => {
    broker.autoAck = false;
    queue(3, 1);
    make().start();
    broker.goOnline();
    await flush();
    broker.pending()[0]!.refuse(0x87);
    broker.pending()[0]!.ack();
    broker.pending()[0]!.ack();
    await vi.advanceTimersByTimeAsync(100);
    expect(drain.stats).toMatchObject({ refused: 1, acked: 2 });
    expect(drain.stats.lastError).toMatch(/refused/);
    expect(store.storeHealth().outbox.depth).toBe(1);
    expect(broker.published).toHaveLength(3); // not resent at once
    broker.autoAck = true;
    await vi.advanceTimersByTimeAsync(3000); // store backoff for a first failure: 2 s
    expect(broker.published).toHaveLength(4);
    expect(store.storeHealth().outbox.depth).toBe(0);
  });

  it('does not spin when publishes fail because the connection is closing; waits for offline/connect or the next poll', async () => {
    queue(5, 1);
    make({ window: 3 }).start();
    broker.closing = true;
    broker.goOnline();
    await flush();
    expect(broker.publishCalls).toBe(3);
    expect(drain.stats.interrupted).toBe(3);
    await vi.advanceTimersByTimeAsync(1000); // one poll: one more try of the window
    expect(broker.publishCalls).toBeLessThanOrEqual(6);
    broker.closing = false;
    broker.goOffline();
    broker.goOnline();
    await vi.advanceTimersByTimeAsync(100);
    expect(store.storeHealth().outbox.depth).toBe(0);
    expect(broker.pending()).toEqual([]);
  });

  it('drops the connection when a PUBACK is overdue', async () => {
    broker.autoAck = false;
    queue(1, 0);
    make({ ackTimeoutMs: 2000 }).start();
    broker.goOnline();
    await vi.advanceTimersByTimeAsync(1500);
    expect(broker.reconnects).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(broker.reconnects).toHaveLength(1);
    expect(broker.reconnects[0]).toMatch(/no PUBACK for outbox message \d+ on earshot\/guardian-07\/events within 2 s/);
    expect(drain.stats.ackTimeouts).toBe(1);
    expect(store.lease(10)[0]?.attempts).toBe(1); // put back, counted
  });

  it('sends what is queued later on kick() or the next poll', async () => {
    make().start();
    broker.goOnline();
    await flush();
    queue(1, 0);
    drain.kick();
    await flush();
    expect(broker.published).toHaveLength(1);
    queue(1, 0);
    await vi.advanceTimersByTimeAsync(999);
    expect(broker.published).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2);
    expect(broker.published).toHaveLength(2);
  });

  it('keeps to the message rate limit, and a new threat alert overtakes a leased backlog', async () => {
    queue(20, 1);
    make({ limiter: new RateLimiter({ messagesPerSec: 5, bytesPerSec: 0 }), leaseBatch: 50, bufferMaxAgeMs: 1000 }).start();
    broker.goOnline();
    await vi.advanceTimersByTimeAsync(10);
    expect(broker.published).toHaveLength(5); // a second's burst
    await vi.advanceTimersByTimeAsync(1000);
    expect(broker.published.length).toBeGreaterThanOrEqual(9);
    expect(broker.published.length).toBeLessThanOrEqual(11);
    const [threat] = queue(1, 0);
    await vi.advanceTimersByTimeAsync(1500);
    const seqs = broker.published.map((p) => JSON.parse(p.payload).seq as number);
    const at = seqs.indexOf(threat!.seq);
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(seqs.length - 1); // sent before the rest of the backlog
    expect(seqs.length).toBeLessThanOrEqual(20);
  });

  it('stop() waits briefly for PUBACKs, writes acks and puts the rest back', async () => {
    broker.autoAck = false;
    queue(10, 1);
    make({ window: 4, leaseBatch: 8 }).start();
    broker.goOnline();
    await flush();
    broker.pending()[0]!.ack();
    const stopping = drain.stop(100); // before the ack is processed: nothing new is sent
    await vi.advanceTimersByTimeAsync(200);
    await stopping;
    expect(store.storeHealth().outbox).toMatchObject({ depth: 9, leased: 0 });
    const again = store.lease(20);
    expect(again.map((m) => m.seq)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(again.filter((m) => m.attempts === 1).map((m) => m.seq)).toEqual([2, 3, 4]); // in flight; 5–8 only leased
  });
});
