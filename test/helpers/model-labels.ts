import fs from 'node:fs';
import path from 'node:path';
import { parseLabelsCsv } from '../../models/labels.js';
import { sharedModelsDir } from './paths.js';

/** The AudioSet display names of the shared mn04 model, in output order. */
export function audiosetLabels(): string[] {
  const file = path.join(sharedModelsDir, 'efficientat-mn04', 'class_labels_indices.csv');
  return parseLabelsCsv(fs.readFileSync(file, 'utf8'), file, 527).map((l) => l.name);
}
