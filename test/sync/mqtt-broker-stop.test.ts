/**
 * MqttBroker stopped from inside its own listeners: no reconnect timer may be left behind (one
 * was: a 1-hour timer that kept `earshot doctor` alive after stop() from a 'linkError' listener).
 * The mqtt.js client is a stand-in driven by the test; the timers are manual, so "no timer left"
 * is a plain count.
 */
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { ReconnectBackoff } from '../../agent/sync/backoff.js';
import { MqttBroker } from '../../agent/sync/mqtt-broker.js';
import { ManualTimers } from '../helpers/manual-timers.js';

/** A client that fails or connects when the test says so. */
class StandInClient extends EventEmitter {
  ended = 0;
  end(): this {
    this.ended++;
    return this;
  }
  fail(message: string): void {
    this.emit('error', new Error(message));
    this.emit('close');
  }
}

function rig() {
  const timers = new ManualTimers();
  const clients: StandInClient[] = [];
  const broker = new MqttBroker({
    url: 'mqtt://127.0.0.1:1',
    connection: { clientId: 't' },
    backoff: new ReconnectBackoff({ minMs: 3_600_000, maxMs: 3_600_000 }),
    timers,
    connect: () => {
      const c = new StandInClient();
      clients.push(c);
      return c as unknown as MqttClient;
    },
  });
  return { timers, clients, broker };
}

describe('MqttBroker stop() from a listener', () => {
  it('from a linkError listener (a failed first connect): no reconnect timer is left', async () => {
    const { timers, clients, broker } = rig();
    let stopped: Promise<void> | undefined;
    broker.on('linkError', () => (stopped = broker.stop()));
    broker.start();
    clients[0]!.fail('connect ECONNREFUSED 127.0.0.1:1');
    await stopped;
    expect(timers.pending).toEqual([]);
    expect(broker.stats.attempts).toBe(1);
  });

  it('from an offline listener (a lost connection): no reconnect timer is left', async () => {
    const { timers, clients, broker } = rig();
    let stopped: Promise<void> | undefined;
    broker.on('offline', () => (stopped = broker.stop()));
    broker.start();
    clients[0]!.emit('connect', {});
    expect(broker.connected).toBe(true);
    clients[0]!.fail('read ECONNRESET');
    await stopped;
    expect(timers.pending).toEqual([]);
  });

  it('a listener that stops and starts again gets one connection attempt, not two', () => {
    const { timers, clients, broker } = rig();
    broker.once('linkError', () => {
      void broker.stop();
      broker.start();
    });
    broker.start();
    clients[0]!.fail('refused');
    expect(clients).toHaveLength(2);
    expect(timers.pending).toEqual([]);
  });

  it('without a listener in the way, it still schedules the next attempt', () => {
    const { timers, clients, broker } = rig();
    broker.start();
    clients[0]!.fail('refused');
    expect(timers.pending).toHaveLength(1);
    expect(timers.pending[0]).toBeGreaterThanOrEqual(1_800_000); // half to all of the step (jitter)
    timers.runNext();
    expect(clients).toHaveLength(2);
    void broker.stop();
    expect(timers.pending).toEqual([]);
  });
});
