import type {Logger} from 'pino';
import type {EventStoreOptions} from '../../../server/src/backends/leveldb/openEventStore.js';
import type {PostgresStoreOptions} from '../../../server/src/backends/postgres/openEventStore.js';
import type {ServerConfig} from '../../../server/src/config/config.js';
import type {ContractStoreOptions} from '../eventStoreContract.js';

export function levelDbOptions(dataDir: string, config: ServerConfig, logger: Logger, overrides?: ContractStoreOptions): EventStoreOptions;

export function postgresOptions(url: string, config: ServerConfig, logger: Logger, overrides?: ContractStoreOptions): PostgresStoreOptions;
