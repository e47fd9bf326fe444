/**
 * `earshot sync now`: one short-lived connection that drains the outbox and ends, for a
 * technician on site with a laptop or a briefly available link. It uses its own client id
 * (`<clientId>-sync-now`) so it does not kick a running agent off the broker, and publishes no
 * status (that is the agent's). Leases in the store keep it and a running agent from sending the
 * same message at once.
 */
import type { Config } from '../../config/schema.js';
import { UnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/types.js';
import { ReconnectBackoff } from './backoff.js';
import type { LinkError } from './broker.js';
import { MqttBroker } from './mqtt-broker.js';
import { clientIdFor, connectionOptions } from './mqtt-options.js';
import { OutboxDrain, type DrainStats } from './outbox-drain.js';
import { RateLimiter } from './rate-limiter.js';
import type { ManagedBroker } from './sync-service.js';

export interface DrainOnceOptions {
  config: Config;
  store: Store;
  /** How long to keep trying to connect. */
  connectTimeoutMs: number;
  logger?: Logger;
  /** Each failed attempt (the CLI prints them). */
  onLinkError?: (e: LinkError) => void;
  broker?: ManagedBroker;
}

export interface DrainOnceResult {
  url: string;
  stats: DrainStats;
}

const COMPONENT = 'sync.now';

export async function drainOnce(opts: DrainOnceOptions): Promise<DrainOnceResult> {
  const mqtt = opts.config.mqtt;
  const broker =
    opts.broker ??
    new MqttBroker({
      url: mqtt.url,
      connection: { ...connectionOptions(mqtt, opts.config.device.id), clientId: `${clientIdFor(mqtt, opts.config.device.id)}-sync-now` },
      backoff: new ReconnectBackoff({ minMs: 500, maxMs: 4000 }),
      hints: { ...(mqtt.tls.ca ? { ca: mqtt.tls.ca } : {}), ...(mqtt.tls.cert ? { cert: mqtt.tls.cert } : {}), connectTimeoutSec: mqtt.connectTimeoutSec },
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  const drain = new OutboxDrain({
    store: opts.store,
    broker,
    window: mqtt.inFlight,
    ackTimeoutMs: mqtt.ackTimeoutSec * 1000,
    limiter: new RateLimiter({ messagesPerSec: mqtt.maxMessagesPerSec, bytesPerSec: mqtt.maxBytesPerSec }),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  let lastError: LinkError | undefined;
  broker.on('linkError', (e) => {
    lastError = e;
    opts.onLinkError?.(e);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      let connected = false;
      timer = setTimeout(() => {
        if (connected) return;
        const why = lastError?.message ?? `${broker.url}: no connection within ${Math.round(opts.connectTimeoutMs / 1000)} s`;
        reject(new UnavailableError(`broker unreachable: ${why}`, { component: COMPONENT, code: 'sync.unreachable' }));
      }, opts.connectTimeoutMs);
      broker.on('connect', () => (connected = true));
      drain.on('idle', () => resolve());
      broker.on('offline', (reason) =>
        reject(new UnavailableError(`lost the broker after ${drain.stats.acked} acknowledged messages: ${reason}; the rest stays in the outbox`, { component: COMPONENT, code: 'sync.lost' })),
      );
      drain.start();
      broker.start();
    });
    return { url: broker.url, stats: { ...drain.stats } };
  } finally {
    clearTimeout(timer);
    await drain.stop();
    await broker.stop();
  }
}
