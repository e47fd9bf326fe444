/** A Broker for unit tests: the test decides when the link is up and when PUBACKs come. */
import { EventEmitter } from 'node:events';
import { BrokerRefusedError, LinkDownError, type BrokerEvents, type IncomingMessage, type PublishOptions, type QoS } from '../../agent/sync/broker.js';
import type { ManagedBroker } from '../../agent/sync/sync-service.js';

export interface FakePublish {
  topic: string;
  payload: string;
  opts: PublishOptions;
  settled: boolean;
  ack(): void;
  refuse(code?: number): void;
}

export class FakeBroker extends EventEmitter<BrokerEvents> implements ManagedBroker {
  connected = false;
  maxInFlight = Infinity;
  readonly url = 'mqtt://fake:1883';
  /** Resolve publishes at once (on the next microtask). */
  autoAck = true;
  readonly published: FakePublish[] = [];
  readonly subscriptions: string[][] = [];
  readonly reconnects: string[] = [];
  started = false;

  start(): void {
    this.started = true;
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.connected) this.goOffline('stopped');
  }

  goOnline(): void {
    this.connected = true;
    this.emit('connect');
  }

  goOffline(reason = 'test cut'): void {
    this.connected = false;
    for (const p of this.pending()) this.fail(p, new LinkDownError('connection lost'));
    this.emit('offline', reason);
  }

  pending(): FakePublish[] {
    return this.published.filter((p) => !p.settled);
  }

  /** Deliver a message as if it came from the broker. */
  deliver(topic: string, payload: string | Buffer, properties?: IncomingMessage['properties']): void {
    this.emit('message', { topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), ...(properties ? { properties } : {}) });
  }

  /** Reject every publish with LinkDownError while still "connected" (a connection being torn down). */
  closing = false;
  publishCalls = 0;

  publish(topic: string, payload: string | Buffer, opts: PublishOptions): Promise<void> {
    this.publishCalls++;
    // A guard for tests of spinning: a real drain must never get near this.
    if (this.publishCalls > 10_000 && this.connected) this.goOffline('spin guard');
    if (!this.connected || this.closing) return Promise.reject(new LinkDownError('not connected'));
    return new Promise<void>((resolve, reject) => {
      const p: FakePublish = {
        topic,
        payload: payload.toString(),
        opts,
        settled: false,
        ack: () => {
          if (p.settled) return;
          p.settled = true;
          resolve();
        },
        refuse: (code = 0x87) => {
          if (p.settled) return;
          p.settled = true;
          reject(new BrokerRefusedError(`refused (${code})`, code));
        },
      };
      (p as FakePublish & { reject: (e: Error) => void }).reject = reject;
      this.published.push(p);
      if (this.autoAck) queueMicrotask(() => p.ack());
    });
  }

  private fail(p: FakePublish, err: Error): void {
    p.settled = true;
    (p as FakePublish & { reject: (e: Error) => void }).reject(err);
  }

  async subscribe(topics: readonly string[], _qos: QoS): Promise<void> {
    if (!this.connected) throw new LinkDownError('not connected');
    this.subscriptions.push([...topics]);
  }

  reconnect(reason: string): void {
    this.reconnects.push(reason);
    if (this.connected) this.goOffline(reason);
  }
}
