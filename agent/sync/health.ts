/**
 * Health on `<prefix>/<device>/health`: the latest sample the agent's health ticker took,
 * published retained when it is taken and again right after every (re)connect, so the retained
 * value is fresh as soon as a link comes up. It is "latest state", not history, so it is published
 * directly rather than through the outbox; the publisher never samples anything itself.
 */
import type { HealthPayload } from '../health/health-payload.js';
import type { Logger } from '../log.js';
import type { Broker, QoS } from './broker.js';

export interface HealthPublisherOptions {
  broker: Broker;
  topic: string;
  qos: QoS;
  logger: Logger;
}

export class HealthPublisher {
  private latest?: HealthPayload;
  private qos: QoS;
  private readonly onConnect = () => void this.publishLatest();

  constructor(private readonly opts: HealthPublisherOptions) {
    this.qos = opts.qos;
  }

  start(): void {
    this.opts.broker.on('connect', this.onConnect);
  }

  stop(): void {
    this.opts.broker.off('connect', this.onConnect);
  }

  setQos(qos: QoS): void {
    this.qos = qos;
  }

  /** Keeps `sample` as the latest and publishes it if connected. Never rejects. */
  publish(sample: HealthPayload): Promise<void> {
    this.latest = sample;
    return this.publishLatest();
  }

  private async publishLatest(): Promise<void> {
    const sample = this.latest;
    if (!sample || !this.opts.broker.connected) return;
    try {
      await this.opts.broker.publish(this.opts.topic, JSON.stringify(sample), { qos: this.qos, retain: true });
    } catch (err) {
      this.opts.logger.debug({ err: (err as Error).message }, 'health not published');
    }
  }
}
