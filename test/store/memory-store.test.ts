import { MemoryStore } from '../helpers/memory-store.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('MemoryStore', (opts) => ({ store: new MemoryStore(opts) }));
