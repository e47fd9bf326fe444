/** The configured audio source. */
import type { Config } from '../../config/schema.js';
import type { Logger } from '../log.js';
import { FileSource } from './file-source.js';
import { RecorderSource, recorderCommand } from './recorder-source.js';
import type { AudioSource } from './source.js';
import { StdinSource } from './stdin-source.js';

export function createSource(audio: Config['audio'], logger: Logger, ready?: () => boolean): AudioSource {
  switch (audio.source) {
    case 'file':
      return new FileSource({ file: audio.file!, realtime: audio.realtime, loop: audio.loop, logger, ...(ready ? { ready } : {}) });
    case 'stdin':
      return new StdinSource(audio.sampleRate, audio.channels, logger);
    default:
      return new RecorderSource({ command: recorderCommand(audio), sampleRate: audio.sampleRate, channels: audio.channels, logger });
  }
}
