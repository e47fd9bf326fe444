/**
 * A real MQTT CONNECT to the configured broker, made the way `run` makes it: the same client
 * options (agent/sync/mqtt-options.ts: TLS files, credentials, protocol, connect timeout) and the
 * same client (MqttBroker over mqtt.js), so a TLS, credential or protocol mistake fails here with
 * the message `sync status` would show. Connects once, publishes nothing, disconnects cleanly.
 *
 * The client id is the configured one plus "-doctor" (as `sync now` adds "-sync-now"): a broker
 * drops the older of two clients with one id, and doctor must not kick a running agent off.
 */
import type { Config } from '../../config/schema.js';
import { ReconnectBackoff } from '../sync/backoff.js';
import type { LinkError } from '../sync/broker.js';
import { displayUrl } from '../sync/link-errors.js';
import { MqttBroker, type MqttBrokerOptions } from '../sync/mqtt-broker.js';
import { clientIdFor } from '../sync/mqtt-options.js';
import { ExitCode } from '../errors.js';
import { checkRunFiles } from './run-files.js';
import { fail, pass, warn, type Check } from './check.js';

/** Past the configured connect timeout, so mqtt.js's own "no answer to CONNECT" wins the race. */
const GRACE_MS = 1000;

export type ProbeResult = { ok: true } | { ok: false; message: string };

export type CreateBroker = (opts: MqttBrokerOptions) => Pick<MqttBroker, 'start' | 'stop' | 'once' | 'off'>;

/** One connection attempt: resolves when the broker accepted CONNECT, refused it, or the link failed. */
export function probeBroker(opts: Omit<MqttBrokerOptions, 'backoff'>, signal: AbortSignal, create: CreateBroker = (o) => new MqttBroker(o)): Promise<ProbeResult> {
  // No retry: the next attempt would only come after stop().
  const broker = create({ ...opts, backoff: new ReconnectBackoff({ minMs: 3_600_000, maxMs: 3_600_000 }) });
  return new Promise<ProbeResult>((resolve) => {
    const finish = (result: ProbeResult) => {
      broker.off('connect', onConnect);
      broker.off('linkError', onError);
      signal.removeEventListener('abort', onAbort);
      void broker.stop().finally(() => resolve(result));
    };
    const onConnect = () => finish({ ok: true });
    const onError = (e: LinkError) => finish({ ok: false, message: e.message });
    const onAbort = () => finish({ ok: false, message: 'aborted' });
    broker.once('connect', onConnect);
    broker.once('linkError', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    broker.start();
  });
}

export function brokerCheck(config: Config, deps: { create?: CreateBroker } = {}): Check {
  const mqtt = config.mqtt;
  return {
    name: 'broker',
    limitMs: mqtt.connectTimeoutSec * 1000 + GRACE_MS,
    async run(signal) {
      if (!mqtt.enabled) return warn('mqtt.enabled is false: not checked; alerts stay on the device');
      let connection;
      try {
        connection = checkRunFiles(config)!;
      } catch (err) {
        return fail(`not tried: ${(err as Error).message}`, ExitCode.config);
      }
      const clientId = `${clientIdFor(mqtt, config.device.id)}-doctor`;
      const r = await probeBroker(
        {
          url: mqtt.url,
          connection: { ...connection, clientId },
          hints: { ...(mqtt.tls.ca ? { ca: mqtt.tls.ca } : {}), ...(mqtt.tls.cert ? { cert: mqtt.tls.cert } : {}), connectTimeoutSec: mqtt.connectTimeoutSec },
        },
        signal,
        deps.create,
      );
      if (!r.ok) return fail(`${r.message} (run would keep alerts in the outbox and retry)`);
      const how = [mqtt.url.startsWith('mqtts:') || mqtt.url.startsWith('wss:') ? 'TLS' : undefined, connection.username !== undefined ? `user ${connection.username}` : undefined, `client id ${clientId}`].filter(Boolean).join(', ');
      return pass(`${displayUrl(mqtt.url)} accepted CONNECT (${how})`);
    },
  };
}
