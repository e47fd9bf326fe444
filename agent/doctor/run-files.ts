/**
 * The files `earshot run` reads at start besides the configuration itself (TLS files, the broker
 * password file, the request secret), checked with the very functions the sync service calls, so
 * `config validate` and `doctor` reject exactly what `run` rejects (ConfigError, exit 78), with
 * the same message. Reads, never writes.
 */
import type { Config } from '../../config/schema.js';
import { connectionOptions, type ConnectionOptions } from '../sync/mqtt-options.js';
import { readRequestSecret } from '../sync/request-auth.js';

/**
 * Throws the ConfigError `run` would stop with; returns the broker connection options (read
 * once here) when MQTT is enabled. Nothing to read when it is disabled: `run` reads none of them.
 */
export function checkRunFiles(config: Config): ConnectionOptions | undefined {
  if (!config.mqtt.enabled) return undefined;
  const options = connectionOptions(config.mqtt, config.device.id);
  if (config.mqtt.requestSecretFile !== undefined) readRequestSecret(config.mqtt.requestSecretFile);
  return options;
}
