/**
 * The mqtt.js client options for the configured broker: client id, protocol, credentials and TLS
 * files. Files are read once here (at start), so a missing or unreadable file is a configuration
 * error that names the key, not a connection failure repeated forever.
 */
import fs from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { Config } from '../../config/schema.js';
import { ConfigError, errnoCode } from '../errors.js';

const COMPONENT = 'sync';

/** What every connection attempt shares (the Last Will is added by the caller). */
export type ConnectionOptions = Pick<
  IClientOptions,
  'clientId' | 'protocolVersion' | 'keepalive' | 'connectTimeout' | 'username' | 'password' | 'ca' | 'cert' | 'key' | 'servername' | 'rejectUnauthorized'
>;

function readSetting(file: string, key: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = errnoCode(err);
    const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'permission denied (run as the earshot user)' : String((err as Error).message);
    throw new ConfigError(`${key}: ${file}: cannot read the ${what}: ${why}`, { component: COMPONENT, code: 'sync.file', cause: err });
  }
}

/** The client id: mqtt.clientId, else "earshot-<device.id>". */
export function clientIdFor(mqtt: Config['mqtt'], deviceId: string): string {
  return mqtt.clientId ?? `earshot-${deviceId}`;
}

/** The password from mqtt.password (or EARSHOT_MQTT_PASSWORD, already merged) or the first line of mqtt.passwordFile. */
export function brokerPassword(mqtt: Config['mqtt']): string | undefined {
  if (mqtt.password !== undefined) return mqtt.password;
  if (mqtt.passwordFile === undefined) return undefined;
  return readSetting(mqtt.passwordFile, 'mqtt.passwordFile', 'broker password').toString('utf8').split(/\r?\n/)[0];
}

export function connectionOptions(mqtt: Config['mqtt'], deviceId: string): ConnectionOptions {
  const opts: ConnectionOptions = {
    clientId: clientIdFor(mqtt, deviceId),
    protocolVersion: mqtt.protocolVersion,
    keepalive: mqtt.keepalive,
    connectTimeout: mqtt.connectTimeoutSec * 1000,
    rejectUnauthorized: mqtt.tls.rejectUnauthorized,
  };
  if (mqtt.username !== undefined) opts.username = mqtt.username;
  const password = brokerPassword(mqtt);
  if (password !== undefined) opts.password = password;
  if (mqtt.tls.ca !== undefined) opts.ca = readSetting(mqtt.tls.ca, 'mqtt.tls.ca', 'CA certificate');
  if (mqtt.tls.cert !== undefined) opts.cert = readSetting(mqtt.tls.cert, 'mqtt.tls.cert', 'client certificate');
  if (mqtt.tls.key !== undefined) opts.key = readSetting(mqtt.tls.key, 'mqtt.tls.key', 'client key');
  if (mqtt.tls.servername !== undefined) opts.servername = mqtt.tls.servername;
  if ((opts.cert === undefined) !== (opts.key === undefined)) {
    throw new ConfigError(`mqtt.tls: expected both cert and key for a client certificate, got only ${opts.cert ? 'cert' : 'key'}`, { component: COMPONENT, code: 'sync.tls' });
  }
  return opts;
}
