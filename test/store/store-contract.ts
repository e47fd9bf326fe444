/**
 * The Store contract, run against every implementation (in the manner of MQTT.js's
 * abstract_store tests): memory-store.test.ts and sqlite-store.test.ts call
 * `describeStoreContract` with a factory.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataError } from '../../agent/errors.js';
import { UNLIMITED } from '../../agent/store/limits.js';
import { backoffDelayMs, Priority, type BackoffPolicy, type Store, type StoreLimits } from '../../agent/store/types.js';
import { EVENTS_TOPIC, FakeClock, T0, makeEvent } from './helpers.js';
import { thrownBy } from '../helpers/errors.js';

export interface StoreFactoryOptions {
  clock: () => number;
  limits: StoreLimits;
  leaseMs: number;
  backoff: BackoffPolicy;
}

export interface StoreUnderTest {
  store: Store;
  cleanup?: () => void;
}

const LEASE_MS = 30_000;
const BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000 };
const DAY = 86_400_000;

function expectDataError(fn: () => unknown, code: string): void {
  const caught = thrownBy(fn);
  expect(caught).toBeInstanceOf(DataError);
  expect((caught as DataError).code).toBe(code);
}

export function describeStoreContract(name: string, make: (opts: StoreFactoryOptions) => StoreUnderTest): void {
  describe(`Store contract: ${name}`, () => {
    let clock: FakeClock;
    let sut: StoreUnderTest;
    let store: Store;
    const open = (limits: StoreLimits = UNLIMITED) => {
      sut?.store.close();
      sut?.cleanup?.();
      sut = make({ clock: clock.now, limits, leaseMs: LEASE_MS, backoff: BACKOFF });
      store = sut.store;
      store.open();
    };

    beforeEach(() => {
      clock = new FakeClock();
      sut = undefined as unknown as StoreUnderTest;
      open();
    });

    afterEach(() => {
      store.close();
      sut.cleanup?.();
    });

    describe('events', () => {
      it('openEvent allocates increasing seq numbers and enqueues nothing', () => {
        const a = store.openEvent(makeEvent());
        const b = store.openEvent(makeEvent({ label: 'dog' }));
        expect(a.seq).toBe(1);
        expect(b.seq).toBe(2);
        expect(store.lease(10)).toEqual([]);
        expect(store.getEvent(a.id)).toMatchObject({ state: 'open', alert: 'pending' });
        expect(store.storeHealth().outbox.depth).toBe(0);
      });

      it('returns the event as given plus seq, in the contract shape', () => {
        const input = makeEvent({ location: { lat: -37.8, lon: -73.1 } });
        const e = store.openEvent(input);
        expect(e).toEqual({ ...input, seq: 1 });
        expect(Object.keys(e)).toEqual(['id', 'seq', 'device', 'label', 'category', 'confidence', 'start', 'end', 'modelLabels', 'model', 'location', 'clockSynced']);
        expect(store.getEvent(e.id)?.event).toEqual(e);
      });

      it('keeps contract fields it does not know yet (fields are only ever added)', () => {
        const input = { ...makeEvent(), snr: 12.5 } as unknown as ReturnType<typeof makeEvent>;
        const e = store.putEvent(input, { alert: EVENTS_TOPIC });
        expect((store.getEvent(e.id)?.event as unknown as Record<string, unknown>).snr).toBe(12.5);
        expect(JSON.parse(store.lease(1)[0]!.payload).snr).toBe(12.5);
      });

      it('refuses a duplicate id without using up a seq', () => {
        const input = makeEvent();
        store.openEvent(input);
        expectDataError(() => store.openEvent(input), 'store.duplicate-event');
        expect(store.openEvent(makeEvent()).seq).toBe(2);
      });

      it('refuses invalid events and stores nothing', () => {
        expectDataError(() => store.openEvent(makeEvent({ category: 'bogus' as never })), 'store.invalid-event');
        expectDataError(() => store.openEvent(makeEvent({ start: 'yesterday' })), 'store.invalid-event');
        expectDataError(() => store.openEvent(makeEvent({ confidence: 1.5 })), 'store.invalid-event');
        expectDataError(() => store.openEvent(makeEvent({ id: '' })), 'store.invalid-event');
        expect(store.listEvents()).toEqual([]);
      });

      it('updateEvent changes an open event; unknown and closed events are data errors', () => {
        const e = store.openEvent(makeEvent());
        const end = new Date(T0 + 4000).toISOString();
        const updated = store.updateEvent(e.id, { confidence: 0.9, end, modelLabels: [{ label: 'Gunshot, gunfire', score: 0.95 }] });
        expect(updated).toMatchObject({ id: e.id, seq: 1, confidence: 0.9, end });
        expect(store.getEvent(e.id)?.event).toEqual(updated);
        expect(store.lease(10)).toEqual([]);
        expectDataError(() => store.updateEvent('0193f0b2-0000-7000-8000-000000000000', { confidence: 0.5 }), 'store.no-such-event');
        store.closeEvent(e.id, {});
        expectDataError(() => store.updateEvent(e.id, { confidence: 0.5 }), 'store.event-closed');
        expectDataError(() => store.closeEvent(e.id, {}), 'store.event-closed');
      });

      it('does not let callers alias stored state', () => {
        const input = makeEvent();
        const e = store.openEvent(input);
        input.modelLabels[0]!.score = 0;
        e.modelLabels.push({ label: 'x', score: 1 });
        expect(store.getEvent(e.id)?.event.modelLabels).toEqual([{ label: 'Gunshot, gunfire', score: 0.81 }]);
      });

      it('getEventBySeq and listEvents with filters, order and limit', () => {
        const a = store.putEvent(makeEvent({ startMs: T0 }), { alert: EVENTS_TOPIC });
        const b = store.putEvent(makeEvent({ startMs: T0 + 60_000, label: 'dog' }), { alert: EVENTS_TOPIC });
        const c = store.openEvent(makeEvent({ startMs: T0 + 120_000 }));
        store.ack(store.lease(1).map((m) => m.id)); // a (threat) delivered
        expect(store.getEventBySeq(2)?.event.id).toBe(b.id);
        expect(store.getEventBySeq(99)).toBeUndefined();
        const ids = (q: Parameters<Store['listEvents']>[0]) => store.listEvents(q).map((s) => s.event.id);
        expect(ids({})).toEqual([a.id, b.id, c.id]);
        expect(ids({ order: 'desc', limit: 2 })).toEqual([c.id, b.id]);
        expect(ids({ sinceMs: T0 + 60_000 })).toEqual([b.id, c.id]);
        expect(ids({ label: 'gunshot' })).toEqual([a.id, c.id]);
        expect(ids({ undelivered: true })).toEqual([b.id, c.id]);
        expect(ids({ state: 'open' })).toEqual([c.id]);
        expect(ids({ label: 'dog', undelivered: true, sinceMs: T0 + 1 })).toEqual([b.id]);
      });
    });

    describe('alerts', () => {
      it('closing an event enqueues its alert once, with the final event as payload', () => {
        const e = store.openEvent(makeEvent());
        const closed = store.closeEvent(e.id, { confidence: 0.93, end: new Date(T0 + 2000).toISOString() }, { alert: EVENTS_TOPIC });
        const [m, ...rest] = store.lease(10);
        expect(rest).toEqual([]);
        expect(m).toMatchObject({ kind: 'event', eventId: e.id, topic: EVENTS_TOPIC.topic, priority: Priority.threatAlert, seq: 1, attempts: 0 });
        // The payload is the stored event plus its version: published once, at close.
        expect(JSON.parse(m!.payload)).toEqual({ ...closed, state: 'closed', rev: 1 });
        expect(m!.payload).toBe(JSON.stringify({ ...store.getEvent(e.id)!.event, state: 'closed', rev: 1 }));
        expect(m!.rev).toBe(1);
        expect(store.getEvent(e.id)).toMatchObject({ state: 'closed', alert: 'queued', rev: 1 });
        expect(store.getEvent(e.id)!.event).not.toHaveProperty('rev');
      });

      it('non-threat alerts get priority 1', () => {
        store.putEvent(makeEvent({ label: 'dog' }), { alert: EVENTS_TOPIC });
        store.putEvent(makeEvent({ label: 'human_voice' }), { alert: EVENTS_TOPIC });
        expect(store.lease(10).map((m) => m.priority)).toEqual([Priority.eventAlert, Priority.eventAlert]);
      });

      it('closing without a target enqueues nothing; enqueueAlert does it later, once', () => {
        const e = store.openEvent(makeEvent({ label: 'dog' }));
        store.closeEvent(e.id, {});
        expect(store.lease(10)).toEqual([]);
        expect(store.enqueueAlert(e.id, EVENTS_TOPIC)).toBe(true);
        expect(store.enqueueAlert(e.id, EVENTS_TOPIC)).toBe(false);
        expect(store.lease(10)).toHaveLength(1);
        expectDataError(() => store.enqueueAlert('nope', EVENTS_TOPIC), 'store.no-such-event');
      });

      it('a threat alerts when it opens; an update and the close then refresh that alert instead of adding one', () => {
        const e = store.openEvent(makeEvent({ label: 'chainsaw' }));
        store.enqueueAlert(e.id, EVENTS_TOPIC);
        store.updateEvent(e.id, { confidence: 0.7 });
        expect(store.getEvent(e.id)).toMatchObject({ state: 'open', alert: 'queued' });
        const end = new Date(T0 + 60_000).toISOString();
        store.closeEvent(e.id, { confidence: 0.96, end }, { alert: EVENTS_TOPIC });
        const leased = store.lease(10);
        expect(leased).toHaveLength(1);
        expect(JSON.parse(leased[0]!.payload)).toMatchObject({ id: e.id, confidence: 0.96, end });
      });

      it('an alert already leased keeps its payload; the close queues the final version beside it as rev 2', () => {
        const e = store.openEvent(makeEvent());
        store.updateEvent(e.id, { confidence: 0.7 });
        store.enqueueAlert(e.id, EVENTS_TOPIC);
        const [m] = store.lease(1);
        store.closeEvent(e.id, { confidence: 0.99 }, { alert: EVENTS_TOPIC });
        expect(JSON.parse(m!.payload)).toMatchObject({ confidence: 0.7, state: 'open', rev: 1 });
        const [final, ...rest] = store.lease(10);
        expect(rest).toEqual([]);
        expect(final).toMatchObject({ eventId: e.id, rev: 2, priority: Priority.threatAlert, attempts: 0 });
        expect(JSON.parse(final!.payload)).toMatchObject({ id: e.id, confidence: 0.99, state: 'closed', rev: 2 });
        clock.advance(LEASE_MS);
        // Both come back after the lease, the older version first.
        expect(store.lease(10).map((x) => x.rev)).toEqual([1, 2]);
      });

      it('putEvent stores a closed event and enqueues its alert in one call', () => {
        const e = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
        expect(store.getEvent(e.id)).toMatchObject({ state: 'closed', alert: 'queued' });
        expect(store.lease(10).map((m) => m.eventId)).toEqual([e.id]);
      });

      it('attachClip adds the clip to the event and to an alert not leased yet', () => {
        const e = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
        const clip = { path: '/data/clips/x.flac', format: 'flac' as const, durationMs: 6000, sha256: 'cd'.repeat(32), bytes: 12345 };
        store.attachClip(e.id, clip);
        const stored = store.getEvent(e.id)!;
        expect(stored.event.clip).toEqual({ path: clip.path, format: 'flac', durationMs: 6000, sha256: clip.sha256 });
        expect(stored.clip).toEqual({ ...clip, uploaded: false });
        expect(JSON.parse(store.lease(1)[0]!.payload).clip).toEqual(stored.event.clip);
        expectDataError(() => store.attachClip('nope', clip), 'store.no-such-event');
      });
    });

    describe('versions (rev)', () => {
      const clip = { path: '/data/clips/x.flac', format: 'flac' as const, durationMs: 6000, sha256: 'cd'.repeat(32), bytes: 12345 };
      const deliver = () => store.ack(store.lease(100).map((m) => m.id));
      const versions = () => store.lease(100).map((m) => ({ eventId: m.eventId, rev: m.rev, ...(JSON.parse(m.payload) as { state: string; confidence: number; clip?: unknown }) }));

      it('a threat published at open gets its final version when it closes, and another with its clip', () => {
        const e = store.openEvent(makeEvent({ label: 'chainsaw', confidence: 0.57 }));
        store.enqueueAlert(e.id, EVENTS_TOPIC);
        deliver();
        expect(store.getEvent(e.id)).toMatchObject({ alert: 'delivered', rev: 1 });
        store.updateEvent(e.id, { confidence: 0.8 });
        expect(store.lease(10)).toEqual([]); // updates are not published
        store.closeEvent(e.id, { confidence: 0.94, end: new Date(T0 + 30_800).toISOString() }, { alert: EVENTS_TOPIC });
        expect(store.getEvent(e.id)).toMatchObject({ alert: 'queued', rev: 2 });
        expect(store.listEvents({ undelivered: true }).map((s) => s.event.id)).toEqual([e.id]);
        const [rev2] = store.lease(10);
        expect(rev2).toMatchObject({ rev: 2, priority: Priority.threatAlert, topic: EVENTS_TOPIC.topic });
        expect(JSON.parse(rev2!.payload)).toMatchObject({ id: e.id, state: 'closed', rev: 2, confidence: 0.94, end: new Date(T0 + 30_800).toISOString() });
        store.ack([rev2!.id]);
        expect(store.attachClip(e.id, clip)).toBe(true);
        expect(versions()).toEqual([expect.objectContaining({ eventId: e.id, rev: 3, state: 'closed', clip: { path: clip.path, format: 'flac', durationMs: 6000, sha256: clip.sha256 } })]);
      });

      it('an event published only at close has rev 1, closed; its clip replaces that version while it waits', () => {
        const e = store.openEvent(makeEvent({ label: 'dog' }));
        store.closeEvent(e.id, {}, { alert: EVENTS_TOPIC });
        expect(store.attachClip(e.id, clip)).toBe(true);
        const [m, ...rest] = store.lease(10);
        expect(rest).toEqual([]);
        expect(m).toMatchObject({ rev: 1, priority: Priority.eventAlert });
        expect(JSON.parse(m!.payload)).toMatchObject({ state: 'closed', rev: 1, clip: { path: clip.path } });
      });

      it('a version never sent is replaced in place (same rev, same place); one that was sent is replaced by the next rev', () => {
        const a = store.openEvent(makeEvent());
        store.enqueueAlert(a.id, EVENTS_TOPIC);
        const b = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
        const [first] = store.lease(1);
        store.release([first!.id], { attempted: false }); // leased, never handed to the broker
        store.closeEvent(a.id, { confidence: 0.9 }, { alert: EVENTS_TOPIC });
        let leased = store.lease(10);
        expect(leased.map((m) => [m.eventId, m.rev])).toEqual([
          [a.id, 1],
          [b.id, 1],
        ]);
        expect(leased[0]!.id).toBe(first!.id);
        expect(JSON.parse(leased[0]!.payload)).toMatchObject({ state: 'closed', rev: 1, confidence: 0.9 });

        // b's version went out without an acknowledgement: it may have arrived, so a change is rev 2.
        store.release(leased.map((m) => m.id));
        store.attachClip(b.id, clip);
        leased = store.lease(10);
        expect(leased.map((m) => [m.eventId, m.rev, m.attempts])).toEqual([
          [a.id, 1, 1],
          [b.id, 2, 0],
        ]);
        expect(store.storeHealth().outbox.depth).toBe(2);
      });

      it('an acknowledged version removes older ones still waiting; the event is delivered once its latest version is', () => {
        const e = store.openEvent(makeEvent());
        store.enqueueAlert(e.id, EVENTS_TOPIC);
        const [rev1] = store.lease(1);
        store.closeEvent(e.id, {}, { alert: EVENTS_TOPIC });
        const [rev2] = store.lease(1);
        store.ack([rev1!.id]);
        expect(store.getEvent(e.id)).toMatchObject({ alert: 'queued', rev: 2 });
        store.ack([rev2!.id]);
        expect(store.getEvent(e.id)).toMatchObject({ alert: 'delivered', rev: 2 });

        const f = store.openEvent(makeEvent());
        store.enqueueAlert(f.id, EVENTS_TOPIC);
        const [f1] = store.lease(1);
        store.closeEvent(f.id, {}, { alert: EVENTS_TOPIC });
        store.nack([f1!.id]); // rev 1 back, waiting for a retry: the close replaced nothing leased
        const [f2] = store.lease(1);
        expect(f2).toMatchObject({ rev: 2 });
        store.ack([f2!.id]);
        expect(store.storeHealth().outbox.depth).toBe(0);
        expect(store.getEvent(f.id)).toMatchObject({ alert: 'delivered' });
      });

      it('a later version keeps its priority: a threat\'s final version goes before other events', () => {
        const dog = store.putEvent(makeEvent({ label: 'dog' }), { alert: EVENTS_TOPIC });
        const gun = store.openEvent(makeEvent());
        store.enqueueAlert(gun.id, EVENTS_TOPIC);
        const leased = store.lease(10);
        store.ack([leased.find((m) => m.eventId === gun.id)!.id]);
        store.release([leased.find((m) => m.eventId === dog.id)!.id]);
        store.closeEvent(gun.id, {}, { alert: EVENTS_TOPIC });
        expect(store.lease(10).map((m) => [m.eventId, m.rev, m.priority])).toEqual([
          [gun.id, 2, Priority.threatAlert],
          [dog.id, 1, Priority.eventAlert],
        ]);
      });

      it('a version and its clip go on the topic the event was first queued on', () => {
        const e = store.openEvent(makeEvent());
        store.enqueueAlert(e.id, EVENTS_TOPIC);
        deliver();
        store.closeEvent(e.id, {}, { alert: { topic: 'other/topic' } });
        expect(store.lease(10).map((m) => m.topic)).toEqual([EVENTS_TOPIC.topic]);
      });
    });

    describe('recoverAfterCrash', () => {
      it('closes every open event as stored and queues its final version; closed events are left alone', () => {
        const dog = store.openEvent(makeEvent({ label: 'dog', startMs: T0 }));
        store.updateEvent(dog.id, { confidence: 0.9, end: new Date(T0 + 4000).toISOString() });
        const gun = store.openEvent(makeEvent({ startMs: T0 + 1000 }));
        store.enqueueAlert(gun.id, EVENTS_TOPIC);
        store.ack(store.lease(10).map((m) => m.id)); // its first version reached the broker
        const done = store.putEvent(makeEvent({ label: 'bird' }), { alert: EVENTS_TOPIC });
        store.ack(store.lease(10).map((m) => m.id));

        clock.advance(60_000);
        const r = store.recoverAfterCrash(EVENTS_TOPIC);
        expect(r).toEqual({ closedEvents: [dog.id, gun.id], releasedLeases: 0 });
        expect(store.listEvents({ state: 'open' })).toEqual([]);
        const stored = store.getEvent(dog.id)!;
        expect(stored).toMatchObject({ state: 'closed', alert: 'queued', rev: 1 });
        expect(stored.event).toMatchObject({ confidence: 0.9, end: new Date(T0 + 4000).toISOString() }); // the last audio it knew
        const leased = store.lease(10);
        expect(leased.map((m) => [m.eventId, m.rev, m.priority])).toEqual([
          [gun.id, 2, Priority.threatAlert],
          [dog.id, 1, Priority.eventAlert],
        ]);
        expect(JSON.parse(leased[1]!.payload)).toMatchObject({ id: dog.id, state: 'closed', rev: 1, confidence: 0.9, end: new Date(T0 + 4000).toISOString() });
        expect(store.getEvent(done.id)).toMatchObject({ alert: 'delivered', rev: 1 });
        expect(store.recoverAfterCrash(EVENTS_TOPIC)).toEqual({ closedEvents: [], releasedLeases: 2 });
      });

      it('releases leases at once (no waiting out the lease), counting an attempt, in their place in the order', () => {
        const a = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
        const b = store.putEvent(makeEvent({ label: 'dog' }), { alert: EVENTS_TOPIC });
        expect(store.lease(10)).toHaveLength(2);
        expect(store.lease(10)).toEqual([]); // leased for LEASE_MS
        expect(store.recoverAfterCrash(EVENTS_TOPIC)).toEqual({ closedEvents: [], releasedLeases: 2 });
        expect(store.lease(10).map((m) => [m.eventId, m.rev, m.attempts])).toEqual([
          [a.id, 1, 1],
          [b.id, 1, 1],
        ]);
      });

      it('a threat whose first version was leased at the crash gets one message: its final version as rev 2', () => {
        const e = store.openEvent(makeEvent());
        store.enqueueAlert(e.id, EVENTS_TOPIC);
        const [rev1] = store.lease(10);
        const r = store.recoverAfterCrash(EVENTS_TOPIC);
        expect(r).toEqual({ closedEvents: [e.id], releasedLeases: 1 });
        const leased = store.lease(10);
        expect(leased.map((m) => [m.id, m.rev, m.attempts])).toEqual([[rev1!.id, 2, 0]]);
        expect(JSON.parse(leased[0]!.payload)).toMatchObject({ state: 'closed', rev: 2 });
      });
    });

    describe('outbox', () => {
      it('leases by priority (threat alerts, then other events), then by seq', () => {
        const dog = store.putEvent(makeEvent({ label: 'dog' }), { alert: EVENTS_TOPIC });
        const gun = store.putEvent(makeEvent({ label: 'gunshot' }), { alert: EVENTS_TOPIC });
        const saw = store.putEvent(makeEvent({ label: 'chainsaw' }), { alert: EVENTS_TOPIC });
        const voice = store.putEvent(makeEvent({ label: 'human_voice' }), { alert: EVENTS_TOPIC });
        const leased = store.lease(10);
        expect(leased.map((m) => m.eventId)).toEqual([gun.id, saw.id, dog.id, voice.id]);
        expect(leased.map((m) => m.priority)).toEqual([Priority.threatAlert, Priority.threatAlert, Priority.eventAlert, Priority.eventAlert]);
      });

      it('health samples are stored, never enqueued (health is published outside the outbox)', () => {
        store.recordHealth({ at: new Date(T0).toISOString(), data: { cpuTempC: 51, queue: 3 } });
        expect(store.lease(10)).toEqual([]);
        expect(store.storeHealth().outbox.depth).toBe(0);
      });

      it('lease(n) returns at most n and never re-leases a message before the lease times out', () => {
        for (let i = 0; i < 5; i++) store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
        const first = store.lease(2);
        expect(first.map((m) => m.seq)).toEqual([1, 2]);
        expect(store.lease(2).map((m) => m.seq)).toEqual([3, 4]);
        expect(store.lease(10).map((m) => m.seq)).toEqual([5]);
        expect(store.lease(10)).toEqual([]);
        expect(store.storeHealth().outbox).toMatchObject({ depth: 5, leased: 5 });
        clock.advance(LEASE_MS - 1);
        expect(store.lease(10)).toEqual([]);
        clock.advance(1);
        const again = store.lease(10);
        expect(again.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
        expect(again.every((m) => m.attempts === 0)).toBe(true);
        expect(store.lease(0)).toEqual([]);
      });

      it('nack counts an attempt and withholds the message for a growing backoff', () => {
        store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
        const [m] = store.lease(1);
        store.nack([m!.id]);
        expect(store.lease(1)).toEqual([]);
        clock.advance(backoffDelayMs(1, BACKOFF) - 1);
        expect(store.lease(1)).toEqual([]);
        clock.advance(1);
        const [again] = store.lease(1);
        expect(again).toMatchObject({ id: m!.id, attempts: 1 });
        store.nack([again!.id]);
        clock.advance(backoffDelayMs(1, BACKOFF));
        expect(store.lease(1)).toEqual([]);
        clock.advance(backoffDelayMs(2, BACKOFF) - backoffDelayMs(1, BACKOFF));
        expect(store.lease(1)[0]).toMatchObject({ id: m!.id, attempts: 2 });
        expect(backoffDelayMs(2, BACKOFF)).toBe(2 * backoffDelayMs(1, BACKOFF));
        store.nack([12345]); // unknown: ignored
      });

      it('a nacked message does not hold back others', () => {
        const a = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
        const b = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
        const [ma] = store.lease(1);
        expect(ma!.eventId).toBe(a.id);
        store.nack([ma!.id]);
        expect(store.lease(10).map((m) => m.eventId)).toEqual([b.id]);
      });

      it('release makes messages leasable again at once, in order, counting an attempt unless told not to', () => {
        for (let i = 0; i < 4; i++) store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
        const leased = store.lease(3);
        expect(leased.map((m) => m.seq)).toEqual([1, 2, 3]);
        store.release([leased[0]!.id, leased[1]!.id]);
        store.release([leased[2]!.id], { attempted: false });
        store.release([424242]); // unknown: ignored
        store.release([]);
        // No backoff: the released ones come back before the never-leased seq 4.
        const again = store.lease(10);
        expect(again.map((m) => [m.seq, m.attempts])).toEqual([
          [1, 1],
          [2, 1],
          [3, 0],
          [4, 0],
        ]);
        expect(store.lease(10)).toEqual([]);
        store.release([again[0]!.id]);
        expect(store.lease(1)[0]).toMatchObject({ seq: 1, attempts: 2 });
        expect(store.storeHealth().outbox.depth).toBe(4);
      });

      it('ack removes messages, marks events delivered and records the sync time; unknown ids are ignored', () => {
        const a = store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
        store.putEvent(makeEvent({ label: 'dog' }), { alert: EVENTS_TOPIC });
        const leased = store.lease(10);
        clock.advance(5000);
        store.ack([leased[0]!.id, 999_999]);
        store.ack([leased[0]!.id]);
        expect(store.getEvent(a.id)).toMatchObject({ alert: 'delivered', deliveredAt: new Date(T0 + 5000).toISOString() });
        expect(store.storeHealth()).toMatchObject({ outbox: { depth: 1 }, lastSyncAt: new Date(T0 + 5000).toISOString() });
        clock.advance(LEASE_MS);
        expect(store.lease(10).map((m) => m.id)).toEqual([leased[1]!.id]);
        store.ack([]);
      });

      it('a message stays in the outbox until acked, however often it fails', () => {
        store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
        for (let i = 0; i < 20; i++) {
          clock.advance(BACKOFF.maxMs);
          const [m] = store.lease(1);
          expect(m).toBeDefined();
          store.nack([m!.id]);
        }
        clock.advance(BACKOFF.maxMs);
        expect(store.lease(1)[0]!.attempts).toBe(20);
        store.prune('periodic');
        expect(store.storeHealth().outbox.depth).toBe(1);
      });
    });

    describe('retention', () => {
      it('prunes settled events and health older than the retention age, keeps undelivered alerts', () => {
        open({ ...UNLIMITED, retentionMs: 30 * DAY });
        const old = store.putEvent(makeEvent({ startMs: T0 }), { alert: EVENTS_TOPIC });
        const oldUndelivered = store.putEvent(makeEvent({ startMs: T0, label: 'dog' }), { alert: EVENTS_TOPIC });
        store.recordHealth({ at: new Date(T0).toISOString(), data: { n: 1 } });
        store.recordHealth({ at: new Date(T0).toISOString(), data: { n: 2 } });
        store.ack(store.lease(1).map((m) => m.id)); // the old threat alert delivered
        clock.advance(31 * DAY);
        store.recordHealth({ at: new Date(clock.nowMs).toISOString(), data: { n: 3 } });
        const recent = store.putEvent(makeEvent({ startMs: clock.nowMs }), { alert: EVENTS_TOPIC });
        const report = store.prune('periodic');
        expect(report).toMatchObject({ eventsDeleted: 1, healthDeleted: 2 });
        expect(store.getEvent(old.id)).toBeUndefined();
        expect(store.getEvent(oldUndelivered.id)).toBeDefined();
        expect(store.getEvent(recent.id)).toBeDefined();
        expect(store.storeHealth().outbox.depth).toBe(2);
        expect(store.storeHealth().lastPrune).toMatchObject({ reason: 'periodic', eventsDeleted: 1 });
      });

      it('deletes the oldest clips first when clips exceed their quota', () => {
        open({ ...UNLIMITED, maxClipBytes: 250 });
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          const e = store.putEvent(makeEvent());
          store.attachClip(e.id, { path: `/nonexistent/clip-${i}.wav`, format: 'wav', durationMs: 1000, sha256: 'ee'.repeat(32), bytes: 100 });
          clock.advance(1000);
          ids.push(e.id);
        }
        const report = store.prune('periodic');
        expect(report).toMatchObject({ clipsDeleted: 1, clipBytesFreed: 100 });
        expect(store.getEvent(ids[0]!)!.clip).toBeUndefined();
        expect(store.getEvent(ids[0]!)!.event.clip).toBeUndefined();
        expect(store.getEvent(ids[1]!)!.clip).toBeDefined();
        expect(store.storeHealth().clips).toEqual({ count: 2, bytes: 200 });
      });
    });

    describe('health and state', () => {
      it('reports outbox depth by priority, events and clip totals', () => {
        store.putEvent(makeEvent(), { alert: EVENTS_TOPIC });
        store.putEvent(makeEvent({ label: 'dog' }), { alert: EVENTS_TOPIC });
        store.openEvent(makeEvent());
        store.recordHealth({ at: new Date(T0).toISOString(), data: {} });
        store.lease(1);
        const h = store.storeHealth();
        expect(h.outbox).toEqual({ depth: 2, byPriority: { 0: 1, 1: 1, 2: 0 }, leased: 1, oldest: new Date(T0).toISOString() });
        expect(h.events).toEqual({ total: 3, open: 1 });
        expect(h.clips).toEqual({ count: 0, bytes: 0 });
        expect(h.corruptionRecovered).toBeUndefined();
      });

      it('counts losses by kind', () => {
        store.countLoss('clipWrites');
        store.countLoss('clipWrites', 2);
        store.countLoss('failedWrites');
        expect(store.storeHealth().losses).toEqual({ threatAlerts: 0, eventAlerts: 0, healthSamples: 0, failedWrites: 1, clipWrites: 3 });
      });

      it('keeps small key/value state', () => {
        expect(store.getState('sync.session')).toBeUndefined();
        store.setState('sync.session', 'abc');
        store.setState('sync.session', 'def');
        expect(store.getState('sync.session')).toBe('def');
      });
    });
  });
}
