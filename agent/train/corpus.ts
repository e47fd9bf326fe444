/**
 * A labelled corpus on disk: one subfolder per alert label (gunshot/, chainsaw/, ...) and
 * `background…` folders, walked recursively (symlinks followed). Used by `earshot train` and by
 * the evaluation. Each file gets a site, so validation can hold a whole site out:
 *  - the first subfolder below the class folder (`gunshot/congo-2025/…` → `congo-2025`), else
 *  - the file name's source tag, the text before its first `_` (`belize_gunshot_7.wav` → `belize`), else
 *  - the name of the corpus folder itself (one site).
 */
import fs from 'node:fs';
import path from 'node:path';
import { findAudioFiles } from '../offline/find-audio.js';

/** Folder names of common corpora that differ from the alert label. */
export const CLASS_ALIASES: Readonly<Record<string, string>> = {
  speech: 'human_voice',
  voice: 'human_voice',
  engine: 'vehicle',
  car: 'vehicle',
  gunshots: 'gunshot',
  dogs: 'dog',
  chainsaws: 'chainsaw',
};

export const BACKGROUND = 'background';

export interface CorpusFile {
  file: string;
  /** Path relative to the corpus folder (what seeds and hashes use, so a moved corpus trains the same). */
  rel: string;
  /** Alert label, or "background". */
  cls: string;
  /** The folder it came from (before aliasing). */
  folder: string;
  site: string;
}

export interface Corpus {
  root: string;
  files: CorpusFile[];
  /** Subfolders that are neither a known label nor background (reported, not used). */
  ignored: string[];
}

/** The class a folder name stands for, or undefined when it is none of `labels` nor background. */
export function classOfFolder(name: string, labels: ReadonlySet<string>): string | undefined {
  if (name.startsWith(BACKGROUND)) return BACKGROUND;
  const label = CLASS_ALIASES[name] ?? name;
  return labels.has(label) ? label : undefined;
}

export function siteOf(root: string, classFolder: string, file: string): string {
  const rel = path.relative(path.join(root, classFolder), file).split(path.sep);
  if (rel.length > 1) return rel[0]!;
  const base = path.basename(file);
  const tag = base.indexOf('_');
  if (tag > 0) return base.slice(0, tag);
  return path.basename(path.resolve(root));
}

/** Scans a corpus folder. Classes not in `labels` are listed in `ignored`. */
export function scanCorpus(root: string, labels: ReadonlySet<string>): Corpus {
  const files: CorpusFile[] = [];
  const ignored: string[] = [];
  const folders = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() || (e.isSymbolicLink() && fs.statSync(path.join(root, e.name)).isDirectory()))
    .map((e) => e.name)
    .filter((name) => !name.startsWith('.'))
    .sort();
  for (const folder of folders) {
    const cls = classOfFolder(folder, labels);
    if (!cls) {
      ignored.push(folder);
      continue;
    }
    for (const file of findAudioFiles([path.join(root, folder)]).files) files.push({ file, rel: path.relative(root, file), cls, folder, site: siteOf(root, folder, file) });
  }
  return { root, files, ignored };
}
