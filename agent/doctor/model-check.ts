/**
 * Whether `run` can load detection: first the very check `run` makes before it creates an ONNX
 * session (prepareDetection: model installed, class map, site head; its errors carry run's exit
 * code), then every model file's sha256 against the manifest, which `run` does not redo.
 */
import type { Config } from '../../config/schema.js';
import { prepareDetection } from '../detect/open-detection.js';
import { ExitCode } from '../errors.js';
import { ModelInstaller } from '../../models/installer.js';
import { getManifest } from '../../models/registry.js';
import { fail, pass, type Check } from './check.js';

export function modelCheck(config: Config, deps: { mirror?: string; configFile?: string; limitMs?: number } = {}): Check {
  return {
    name: 'model',
    // Hashing a few MB on a Pi Zero's SD card takes a second or two.
    limitMs: deps.limitMs ?? 15_000,
    async run() {
      // Throws run's own error (69 not installed, 66/65/78 for the head): runCheck reports it.
      const prepared = prepareDetection(config, { mirror: deps.mirror, configFile: deps.configFile });
      const r = await new ModelInstaller().verify(getManifest(config.detection.model).manifest, config.storage.dataDir);
      if (!r.ok) {
        const bad = r.files.filter((f) => f.status !== 'ok').map((f) => `${f.name} ${f.status}`).join(', ');
        return fail(`${r.name}: ${bad || 'install marker does not match'} in ${r.dir}; reinstall: \`earshot models install\``, ExitCode.dataErr);
      }
      const head = prepared.head ? `, head ${config.detection.head}` : '';
      return pass(`${r.name} ${r.version} installed and verified (sha256)${head}`);
    },
  };
}
