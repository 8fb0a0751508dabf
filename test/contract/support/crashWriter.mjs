// Appends, one after another, the appends given as JSON on standard input to
// the store given by the arguments (`leveldb <directory>` or `postgres <url>`), printing
// "ACK <index> <result as JSON>" as each is acknowledged. The contract test
// kills it (SIGKILL) part way: a crash, with appends in flight.
// Runs the built server (dist/), as the server process would.
import {readFileSync} from 'node:fs';
import {pino} from 'pino';
import {uuidBytes} from '@edupulse/event-store-protocol/uuid.js';
import {defaultConfig} from '../../../dist/server/src/config/config.js';
import {openEventStore} from '../../../dist/server/src/backends/leveldb/openEventStore.js';
import {openPostgresEventStore} from '../../../dist/server/src/backends/postgres/openEventStore.js';
import {levelDbOptions, postgresOptions} from './storeOptions.mjs';

const appends = JSON.parse(readFileSync(0, 'utf8'));
const [backend, location] = process.argv.slice(2);
const logger = pino({level: 'silent'});
const store =
  backend === 'postgres'
    ? await openPostgresEventStore(postgresOptions(location, defaultConfig, logger))
    : await openEventStore(levelDbOptions(location, defaultConfig, logger));
for (const [index, append] of appends.entries()) {
  const events = append.eventIds.map(eventId => ({
    eventId,
    eventIdBytes: uuidBytes(eventId),
    eventIdGenerated: false,
    type: append.type,
    contentType: 'application/json',
    data: Buffer.from('{}'),
    metadata: {},
    correlationId: '',
    causationId: '',
    actorId: '',
    occurredAt: undefined,
    occurredAtExtraNanos: 0,
    containsPersonalData: false,
  }));
  const result = await store.append({
    tenant: append.tenant,
    stream: append.stream,
    expected: {kind: 'any'},
    events,
    bytes: 2 * events.length,
  });
  process.stdout.write(`ACK ${index} ${JSON.stringify(result)}\n`);
}
