/**
 * The agent's storage as one component: the store opened (checked, migrated or salvaged), what a
 * dead process left behind recovered, the clip writer ready and retention running at start;
 * retention stopped and the database closed at stop.
 *
 * Recovery runs here, not in `Store.open()`: `earshot sync now` opens the same store beside a
 * running agent, and must not close that agent's open events or take its leases. The agent holds
 * the data folder's lock, so at its start every open event and every lease is a dead process's.
 */
import type { Component } from '../component.js';
import type { StorageComponents } from './create-store.js';

export class StorageComponent implements Component {
  readonly name = 'store';
  readonly stopLimitMs = 500;

  constructor(private readonly storage: StorageComponents) {}

  async start(): Promise<void> {
    const { store, alertTarget } = this.storage;
    const log = this.storage.logger.child({ component: 'store' });
    store.open();
    try {
      const recovered = store.recoverAfterCrash(alertTarget);
      if (recovered.closedEvents.length > 0) {
        log.warn({ events: recovered.closedEvents }, 'closed events a dead process left open');
      }
      if (recovered.releasedLeases > 0) {
        log.warn({ messages: recovered.releasedLeases }, 'released outbox messages a dead process had leased');
      }
      await this.storage.clips.start();
    } catch (err) {
      store.close();
      throw err;
    }
    this.storage.retention.start();
  }

  stop(): void {
    this.storage.retention.stop();
    this.storage.store.close();
  }
}
