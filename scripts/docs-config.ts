/** Regenerates the configuration reference in README.md and config/default.yaml from the schema. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfigText } from '../config/document.js';
import { withReference } from '../config/reference.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = path.join(root, 'README.md');
fs.writeFileSync(readme, withReference(fs.readFileSync(readme, 'utf8')));
fs.writeFileSync(path.join(root, 'config', 'default.yaml'), defaultConfigText());
console.log('updated README.md (configuration reference) and config/default.yaml');
