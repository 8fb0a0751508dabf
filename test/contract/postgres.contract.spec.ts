import {pino} from 'pino';
import {openPostgresEventStore} from '../../server/src/backends/postgres/openEventStore.js';
import {defaultConfig} from '../../server/src/config/config.js';
import {createDatabase, dropDatabase, sharedPostgresUrl} from '../support/postgres.js';
import {eventStoreContract, type ContractStorage} from './eventStoreContract.js';
import {crashWhileAppending} from './support/crashWhileAppending.js';
import {postgresOptions} from './support/storeOptions.mjs';

eventStoreContract('PostgreSQL', {
  async create(): Promise<ContractStorage> {
    const admin = sharedPostgresUrl();
    const url = await createDatabase(admin);
    return {
      open: options => openPostgresEventStore(postgresOptions(url, defaultConfig, pino({level: 'silent'}), options)),
      crashWhileAppending: (appends, killAfter) => crashWhileAppending(['postgres', url], appends, killAfter),
      dispose: () => dropDatabase(admin, url),
    };
  },
});
