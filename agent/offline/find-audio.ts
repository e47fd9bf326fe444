import fs from 'node:fs';
import path from 'node:path';

/** File endings taken when a folder is walked (a file named directly is always taken). */
export const AUDIO_EXTENSIONS = new Set(['.wav', '.wave', '.flac', '.mp3', '.ogg', '.oga', '.opus', '.m4a', '.aif', '.aiff']);

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Expands files and folders into audio files, folders walked recursively in name order
 * (stable output for the same tree). Missing paths are returned separately to be reported.
 */
export function findAudioFiles(inputs: readonly string[]): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      // Follow symbolic links (corpora are often assembled from links); skip broken ones.
      const kind = entry.isSymbolicLink() ? statOrUndefined(full) : entry;
      if (kind?.isDirectory()) walk(full);
      else if (kind?.isFile() && AUDIO_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) files.push(full);
    }
  };
  for (const input of inputs) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(input);
    } catch {
      missing.push(input);
      continue;
    }
    if (stat.isDirectory()) walk(input);
    else files.push(input);
  }
  return { files, missing };
}
