/**
 * The Broker: what the rest of sync needs from an MQTT connection, small enough that the outbox
 * drain and the request handling can be tested against a fake (test/sync/fake-broker.ts).
 * The real one is MqttBroker (mqtt-broker.ts).
 *
 * Contract:
 *  - `publish` resolves when the broker has the message: on PUBACK for QoS 1, once written for
 *    QoS 0. It rejects at once when not connected (nothing is queued in memory for later: the
 *    SQLite outbox is the only queue), when the connection is lost before the PUBACK, and when
 *    the broker refuses the message (MQTT 5 PUBACK reason code ≥ 0x80, `BrokerRefusedError`).
 *  - 'connect' is emitted on every successful (re)connect, 'offline' when a connection that was
 *    up is lost; subscriptions do not survive a reconnect: subscribe again on 'connect'.
 */
import type { EventEmitter } from 'node:events';

export type QoS = 0 | 1;

export interface PublishProperties {
  /** MQTT 5 user properties (ignored by MQTT 3.1.1). */
  userProperties?: Record<string, string>;
  /** MQTT 5 correlation data, echoed on responses. */
  correlationData?: Buffer;
  contentType?: string;
}

export interface PublishOptions {
  qos: QoS;
  retain?: boolean;
  properties?: PublishProperties;
}

export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  properties?: PublishProperties & { responseTopic?: string };
}

/** Why the broker is not connected, and since when. */
export interface LinkError {
  /** ISO time. */
  at: string;
  /** Readable, names the URL; never contains a password. */
  message: string;
  code?: string;
}

export interface BrokerEvents {
  connect: [];
  offline: [reason: string];
  /** A connection attempt failed or a live connection broke; the broker keeps retrying. */
  linkError: [error: LinkError];
  message: [message: IncomingMessage];
}

export interface Broker extends Pick<EventEmitter<BrokerEvents>, 'on' | 'off' | 'once'> {
  readonly connected: boolean;
  /**
   * Most QoS 1 messages the broker accepts unacknowledged at once (its MQTT 5 receive maximum),
   * Infinity when it states none. Valid while connected.
   */
  readonly maxInFlight: number;
  /** The URL, without credentials, for messages. */
  readonly url: string;
  publish(topic: string, payload: string | Buffer, opts: PublishOptions): Promise<void>;
  subscribe(topics: readonly string[], qos: QoS): Promise<void>;
  /** Drops the current connection (e.g. an acknowledgement is long overdue) and reconnects with backoff. */
  reconnect(reason: string): void;
}

/** The broker refused a message (MQTT 5 PUBACK reason code ≥ 0x80): retrying at once will not help. */
export class BrokerRefusedError extends Error {
  constructor(
    message: string,
    readonly reasonCode: number,
  ) {
    super(message);
    this.name = 'BrokerRefusedError';
  }
}

/** A publish that could not complete because the link is not there (not connected, or lost before the PUBACK). */
export class LinkDownError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkDownError';
  }
}
