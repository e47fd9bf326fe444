import { MemoryStore } from '../../agent/store/memory-store.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('MemoryStore', (opts) => ({ store: new MemoryStore(opts) }));
