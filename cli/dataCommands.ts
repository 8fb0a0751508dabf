import {createReadStream, existsSync} from 'node:fs';
import {createInterface} from 'node:readline';
import {Command} from 'commander';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {createApiKey, type Role} from '../server/src/auth/apiKeys.js';
import {openStorage} from '../server/src/backends/leveldb/openStorage.js';
import {levelLogRestorer} from '../server/src/backends/leveldb/restoreLog.js';
import {verifyStore} from '../server/src/backends/leveldb/verifyStore.js';
import {connectPool} from '../server/src/backends/postgres/connectPool.js';
import {migrate} from '../server/src/backends/postgres/migrations.js';
import {postgresLogRestorer} from '../server/src/backends/postgres/restoreLog.js';
import {verifyPostgresStore} from '../server/src/backends/postgres/verifyStore.js';
import type {LogRestorer, VerifyProgress, VerifyReport} from '../server/src/engine/storeMaintenance.js';
import {pino} from 'pino';
import {levelSubjectKeyLedger} from '../server/src/backends/leveldb/subjectKeyLedger.js';
import {postgresSubjectKeyLedger} from '../server/src/backends/postgres/subjectKeyLedger.js';
import type {SubjectKeyLedger} from '../server/src/engine/subjectKeyLedger.js';
import {importedSealing} from '../server/src/lifecycle/sealedEvent.js';
import {startProgress, type Progress} from './progress.js';

/** Where `import` and `verify` work: a LevelDB data directory (the server stopped), or a PostgreSQL database. */
type StoreFlags = {dataDir?: string; postgresUrl?: string};

/** A store opened for `import` and `verify`. */
type OfflineStore = {
  restorer(): LogRestorer;
  /** Where an import puts the data subjects' keys its sealed events carry. */
  subjectKeys: SubjectKeyLedger;
  verify(onProgress?: VerifyProgress): Promise<VerifyReport>;
  /** What opening it repaired, as lines for the person running the command. */
  notes: string[];
  close(): Promise<void>;
};

async function openOfflineStore(flags: StoreFlags, forWriting: boolean): Promise<OfflineStore> {
  if ((flags.dataDir === undefined) === (flags.postgresUrl === undefined)) {
    throw new Error('give one of --data-dir <dir> and --postgres-url <url>');
  }
  if (flags.postgresUrl !== undefined) {
    const logger = pino({level: 'warn'}, process.stderr);
    const pool = await connectPool({url: flags.postgresUrl, poolSize: 2, statementTimeoutMs: 600_000}, logger);
    try {
      await migrate(pool, logger);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return {
      restorer: () => postgresLogRestorer(pool),
      subjectKeys: postgresSubjectKeyLedger(pool, () => undefined),
      verify: onProgress => verifyPostgresStore(pool, onProgress),
      notes: [],
      close: () => pool.end(),
    };
  }
  // Only import makes a data directory; verify of one that is not there says so, and creates nothing.
  if (!forWriting && !existsSync(flags.dataDir!)) throw new Error(`there is no data directory at ${flags.dataDir}`);
  const storage = await openStorage(flags.dataDir!, forWriting);
  return {
    restorer: () => levelLogRestorer(storage),
    subjectKeys: levelSubjectKeyLedger(storage.indexDb),
    verify: onProgress => verifyStore(storage, onProgress),
    notes: storage.recovered.map(
      ({tenant, replayed, rebuilt}) =>
        `tenant ${tenant}: indexed ${replayed} events of the log again${rebuilt ? ' (its indexes reached past the log and were rebuilt)' : ''}`,
    ),
    close: () => storage.close(),
  };
}

/** `import`, `verify` (on a stopped server's data directory, or on PostgreSQL) and `keys create`. */
export function dataCommands(): Command[] {
  const importCommand = new Command('import')
    .description('restore an NDJSON export into a store: a data directory (the server must not be running on it) or PostgreSQL')
    .option('--data-dir <dir>', 'the data directory to restore into (created when missing)')
    .option('--postgres-url <url>', 'the PostgreSQL database to restore into (servers may run on it)')
    .argument('[file]', 'the export; standard input when left out')
    .action(async (file: string | undefined, flags: StoreFlags) => {
      const input = file === undefined ? process.stdin : createReadStream(file);
      const store = await openOfflineStore(flags, true);
      try {
        const restorer = store.restorer();
        const total = file === undefined ? 0 : await countLines(file);
        const progress = startProgress('import', total);
        let line = 0;
        for await (const text of createInterface({input, crlfDelay: Infinity})) {
          line += 1;
          if (text.trim() === '') continue;
          let event: RecordedEvent;
          try {
            event = RecordedEvent.fromJSON(JSON.parse(text));
          } catch (error) {
            throw new Error(`line ${line}: not a recorded event: ${(error as Error).message}`);
          }
          try {
            await restorer.add(await withImportedKey(event, store.subjectKeys));
          } catch (error) {
            throw new Error(`line ${line}: ${(error as Error).message}`);
          }
          progress.update(line);
        }
        const restored = await restorer.finish();
        progress.stop();
        process.stderr.write(`imported ${restored} events\n`);
      } finally {
        await store.close();
      }
    });

  const verify = new Command('verify')
    .description("check a store's counters and indexes against its log: a data directory (the server must not be running) or PostgreSQL")
    .option('--data-dir <dir>', 'the data directory')
    .option('--postgres-url <url>', 'the PostgreSQL database (checked in one snapshot; servers may run on it)')
    .action(async (flags: StoreFlags) => {
      const store = await openOfflineStore(flags, false);
      try {
        for (const note of store.notes) process.stdout.write(`${note}\n`);
        let progress: Progress | undefined;
        const report = await store.verify((checked, total) => {
          progress ??= startProgress('verify', total);
          progress.update(checked);
        });
        progress?.stop();
        for (const t of report.tenants) {
          process.stdout.write(`tenant ${t.tenant}: ${t.events} events in ${t.streams} streams\n`);
        }
        for (const problem of report.problems) process.stdout.write(`PROBLEM ${problem}\n`);
        process.stdout.write(report.problems.length === 0 ? 'verify: OK\n' : `verify: ${report.problems.length} problems\n`);
        if (report.problems.length > 0) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });

  const keys = new Command('keys').description('manage API keys');
  keys
    .command('create')
    .description('make a new API key: prints the key (give it to the client) and the entry for the keys file')
    .requiredOption('--id <id>', 'a name for the key, e.g. billing-service (required)')
    .requiredOption('--tenant <tenant>', 'the tenant it grants, or "*" for all (admin only) (required)')
    .option('--role <role>', 'read, write or admin', 'write')
    .action((flags: {id: string; tenant: string; role: string}) => {
      if (!['read', 'write', 'admin'].includes(flags.role)) throw new Error('--role must be read, write or admin');
      // `serve` refuses such an entry: refused here, before it reaches a keys file.
      if (flags.tenant === '*' && flags.role !== 'admin') {
        throw new Error('--tenant "*" (every tenant) is for admin keys only: add --role admin, or name one tenant');
      }
      const {key, entry} = createApiKey(flags.id, flags.tenant, flags.role as Role);
      process.stdout.write(`${JSON.stringify({key, entry})}\n`);
      process.stderr.write('Keep the key secret; add the entry to the "keys" list of the keys file.\n');
    });

  return [importCommand, verify, keys];
}

/**
 * A sealed event of an export carries its subject's key, wrapped by the
 * master key of the server that exported it: the key is stored (unless the
 * subject has one already) and the event keeps only its sealed value, as
 * the store holds it. The server that reads it needs that master key.
 */
async function withImportedKey(event: RecordedEvent, keys: SubjectKeyLedger): Promise<RecordedEvent> {
  if (event.sealed.byteLength === 0) return event;
  const {keyId, wrapped, stored} = importedSealing(event.sealed);
  const kept = await keys.create(event.tenant, event.dataSubjectId, {keyId, wrapped});
  if (!kept.keyId.equals(keyId)) {
    throw new Error(`event ${event.eventId}: data subject "${event.dataSubjectId}" has another key in this store already`);
  }
  return {...event, sealed: stored};
}

async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(file)) {
    for (const byte of chunk as Buffer) if (byte === 10) lines += 1;
  }
  return lines;
}
