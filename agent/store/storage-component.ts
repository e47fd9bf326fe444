/**
 * The agent's storage as one component: the store opened (checked, migrated or salvaged), the clip
 * writer ready and retention running at start; retention stopped and the database closed at stop.
 */
import type { Component } from '../component.js';
import type { StorageComponents } from './create-store.js';

export class StorageComponent implements Component {
  readonly name = 'store';
  readonly stopLimitMs = 500;

  constructor(private readonly storage: StorageComponents) {}

  async start(): Promise<void> {
    this.storage.store.open();
    try {
      await this.storage.clips.start();
    } catch (err) {
      this.storage.store.close();
      throw err;
    }
    this.storage.retention.start();
  }

  stop(): void {
    this.storage.retention.stop();
    this.storage.store.close();
  }
}
