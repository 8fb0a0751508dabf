import {rm} from 'node:fs/promises';
import {pino} from 'pino';
import {openEventStore} from '../../server/src/backends/leveldb/openEventStore.js';
import {defaultConfig} from '../../server/src/config/config.js';
import {freshDataDir} from '../support/testServer.js';
import {eventStoreContract, type ContractStorage} from './eventStoreContract.js';
import {crashWhileAppending} from './support/crashWhileAppending.js';
// A plain module (with its declaration beside it), shared with the crash writer, which runs without TypeScript.
import {levelDbOptions} from './support/storeOptions.mjs';

eventStoreContract('LevelDB', {
  async create(): Promise<ContractStorage> {
    const dataDir = await freshDataDir();
    return {
      open: options => openEventStore(levelDbOptions(dataDir, defaultConfig, pino({level: 'silent'}), options)),
      crashWhileAppending: (appends, killAfter) => crashWhileAppending(['leveldb', dataDir], appends, killAfter),
      dispose: () => rm(dataDir, {recursive: true, force: true}),
    };
  },
});
