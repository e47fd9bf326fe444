/** The files `run` reads at start (TLS, password, request secret): unreadable is run's exit 78. */
import type { Config } from '../../config/schema.js';
import { ExitCode } from '../errors.js';
import { fail, pass, type Check } from './check.js';
import { checkRunFiles } from './run-files.js';

/** The file settings `run` reads, as "key (file)". */
function namedFiles(mqtt: Config['mqtt']): string[] {
  const files: [string, string | undefined][] = [
    ['mqtt.tls.ca', mqtt.tls.ca],
    ['mqtt.tls.cert', mqtt.tls.cert],
    ['mqtt.tls.key', mqtt.tls.key],
    ['mqtt.passwordFile', mqtt.password === undefined ? mqtt.passwordFile : undefined],
    ['mqtt.requestSecretFile', mqtt.requestSecretFile],
  ];
  return files.filter(([, f]) => f !== undefined).map(([k, f]) => `${k} (${f})`);
}

export function runFilesCheck(config: Config): Check {
  return {
    name: 'broker files',
    limitMs: 5000,
    run() {
      if (!config.mqtt.enabled) return Promise.resolve(pass('mqtt.enabled is false: run reads none'));
      try {
        checkRunFiles(config);
      } catch (err) {
        return Promise.resolve(fail((err as Error).message, ExitCode.config));
      }
      const files = namedFiles(config.mqtt);
      return Promise.resolve(pass(files.length ? `readable: ${files.join(', ')}` : 'none configured'));
    },
  };
}
