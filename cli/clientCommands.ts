import {createWriteStream} from 'node:fs';
import {once} from 'node:events';
import {Command} from 'commander';
import type {ExpectedRevision} from '../client/src/index.js';
import {connect, eventLine, printJsonLine, withConnection, type ConnectionFlags} from './connection.js';
import {startProgress} from './progress.js';
import {countOption, sequenceOption} from './wholeNumbers.js';
import {lifecycleCommands, retentionLine} from './lifecycleCommands.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseRevision(text: string): ExpectedRevision {
  if (text === 'any' || text === 'no-stream' || text === 'stream-exists') {
    return text === 'any' ? 'any' : text === 'no-stream' ? 'noStream' : 'streamExists';
  }
  if (!/^\d+$/.test(text)) throw new Error(`--expected-revision must be any, no-stream, stream-exists or a revision, got "${text}"`);
  return BigInt(text);
}

/** `append`, `read`, `tail`, `info`, `export` and `tenants`: the client side of the store, over gRPC. */
export function clientCommands(): Command[] {
  const append = withConnection(new Command('append'))
    .description('append one JSON event, given as an argument or on standard input')
    .argument('<stream>', 'stream to append to')
    .argument('[json]', 'the event data (JSON); read from standard input when left out')
    .requiredOption('--type <type>', 'event type, e.g. edupulse.events.v1.BadgeAwarded (required)')
    .option('--expected-revision <revision>', 'any, no-stream, stream-exists, or an exact revision', 'any')
    .option('--event-id <uuid>', 'event id (default: a new UUIDv7)')
    .option('--correlation-id <id>', 'correlation id')
    .option('--data-subject-id <id>', 'the event holds personal data about this person: stored encrypted, erasable with erase')
    .action(async (stream: string, json: string | undefined, flags: ConnectionFlags & Record<string, string>) => {
      const text = json ?? (await readStdin());
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (error) {
        throw new Error(`the event data is not JSON: ${(error as Error).message}`);
      }
      const store = connect(flags);
      try {
        const result = await store.appendToStream(
          stream,
          [
            {
              type: flags.type!,
              json: data,
              ...(flags.eventId ? {eventId: flags.eventId} : {}),
              ...(flags.correlationId ? {correlationId: flags.correlationId} : {}),
              ...(flags.dataSubjectId ? {dataSubjectId: flags.dataSubjectId} : {}),
            },
          ],
          {expectedRevision: parseRevision(flags.expectedRevision!)},
        );
        printJsonLine({
          firstPosition: String(result.firstPosition),
          lastPosition: String(result.lastPosition),
          firstRevision: String(result.firstRevision),
          lastRevision: String(result.lastRevision),
          deduplicated: result.deduplicated,
        });
      } finally {
        store.close();
      }
    });

  const read = withConnection(new Command('read'))
    .description("print a stream, or the tenant's whole log, as JSON lines")
    .argument('[stream]', 'stream to read; the whole log when left out')
    .option('--from <n>', 'first revision (stream) or position (log) to print', sequenceOption)
    .option('--backwards', 'newest first')
    .option('--max-count <n>', 'print at most this many events', countOption)
    .option('--type <type...>', 'only these event types (log only)')
    .option('--decode', 'print data as JSON (JSON events, and the platform events in protobuf) instead of base64')
    .action(
      async (
        stream: string | undefined,
        flags: ConnectionFlags & {from?: bigint; backwards?: boolean; maxCount?: number; type?: string[]; decode?: boolean},
      ) => {
        const store = connect(flags);
        try {
          const options = {
            ...(flags.from === undefined ? {} : {from: flags.from}),
            direction: flags.backwards ? ('backwards' as const) : ('forwards' as const),
            ...(flags.maxCount === undefined ? {} : {maxCount: flags.maxCount}),
          };
          const events =
            stream === undefined
              ? store.readLog({...options, ...(flags.type ? {filter: {eventTypes: flags.type}} : {})})
              : store.readStream(stream, options);
          for await (const event of events) printJsonLine(eventLine(event, flags.decode === true));
        } finally {
          store.close();
        }
      },
    );

  const tail = withConnection(new Command('tail'))
    .description('follow the log (or a stream) live, printing events as JSON lines; resumable from a position')
    .option('--stream <stream>', 'follow one stream only')
    .option('--after <position>', 'start after this log position (default: from now on)', sequenceOption)
    .option('--from-start', 'start from the first event')
    .option('--type <type...>', 'only these event types')
    .option('--max-count <n>', 'stop after this many events', countOption)
    .option('--decode', 'print data as JSON (JSON events, and the platform events in protobuf) instead of base64')
    .action(
      async (
        flags: ConnectionFlags & {
          stream?: string;
          after?: bigint;
          fromStart?: boolean;
          type?: string[];
          maxCount?: number;
          decode?: boolean;
        },
      ) => {
        const store = connect(flags);
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        let printed = 0;
        try {
          for await (const message of store.subscribe({
            ...(flags.stream === undefined ? {} : {stream: flags.stream}),
            from: flags.after !== undefined ? {afterPosition: flags.after} : flags.fromStart ? 'start' : 'end',
            ...(flags.type ? {filter: {eventTypes: flags.type}} : {}),
            signal: stop.signal,
          })) {
            if (message.kind === 'event') {
              printJsonLine(eventLine(message.event, flags.decode === true));
              if (flags.maxCount !== undefined && ++printed >= flags.maxCount) break;
            } else if (message.kind === 'caughtUp') {
              process.stderr.write(`caught up at position ${message.position}\n`);
            }
          }
        } catch (error) {
          if (!stop.signal.aborted) throw error;
        } finally {
          store.close();
        }
      },
    );

  const info = withConnection(new Command('info'))
    .description('show whether a stream exists, its revision, and the log position')
    .argument('<stream>')
    .action(async (stream: string, flags: ConnectionFlags) => {
      const store = connect(flags);
      try {
        const i = await store.getStreamInfo(stream);
        printJsonLine({
          stream,
          exists: i.exists,
          revision: i.revision === undefined ? null : String(i.revision),
          lastPosition: i.lastPosition === undefined ? null : String(i.lastPosition),
          logPosition: String(i.logPosition),
          deleted: i.deleted,
          tombstoned: i.tombstoned,
          retention: i.retention === undefined ? null : retentionLine(i.retention),
        });
      } finally {
        store.close();
      }
    });

  const exportCommand = withConnection(new Command('export'))
    .description(
      "back up a tenant's log, or every tenant's, as NDJSON (one recorded event per line), restorable with import; personal events stay encrypted (needs an admin key)",
    )
    .option('--output <file>', 'write here instead of standard output')
    .option('--all-tenants', 'every tenant with events, one after another (an admin key of every tenant, "*")')
    .action(async (flags: ConnectionFlags & {output?: string; allTenants?: boolean}) => {
      if (flags.allTenants && flags.tenant !== undefined)
        throw new Error('--all-tenants exports every tenant: leave out --tenant (and EDUPULSE_TENANT)');
      const store = connect(flags);
      const out = flags.output === undefined ? process.stdout : createWriteStream(flags.output);
      try {
        // Each tenant up to where its log stood when the export started: later events are left for the next backup.
        const tenants: Array<{tenant: string | undefined; until: number}> = [];
        if (flags.allTenants) {
          for await (const t of store.listTenants()) tenants.push({tenant: t.tenant, until: Number(t.logPosition)});
        } else {
          const [last] = await toArray(store.readLog({direction: 'backwards', maxCount: 1}));
          tenants.push({tenant: undefined, until: Number(last?.position ?? 0n)});
        }
        const progress = startProgress(
          'export',
          tenants.reduce((sum, t) => sum + t.until, 0),
        );
        let done = 0;
        for (const {tenant, until} of tenants) {
          // Personal events stay sealed: an export holds no personal data in plaintext.
          for await (const event of store.readLog({pageSize: 1000, sealed: true, ...(tenant === undefined ? {} : {tenant})})) {
            if (Number(event.position) > until) break;
            if (!out.write(`${JSON.stringify(eventLine(event))}\n`)) await once(out, 'drain');
            progress.update(++done);
          }
        }
        progress.stop();
        process.stderr.write(flags.allTenants ? `exported ${done} events of ${tenants.length} tenants\n` : `exported ${done} events\n`);
      } finally {
        store.close();
        if (out !== process.stdout) await new Promise<void>(resolve => out.end(() => resolve()));
      }
    });

  const tenantsCommand = withConnection(new Command('tenants'))
    .description('list the tenants that have events, with their last positions, as JSON lines (an admin key of every tenant, "*")')
    .action(async (flags: ConnectionFlags) => {
      if (flags.tenant !== undefined) throw new Error('tenants lists every tenant: leave out --tenant (and EDUPULSE_TENANT)');
      const store = connect(flags);
      try {
        for await (const t of store.listTenants()) printJsonLine({tenant: t.tenant, logPosition: String(t.logPosition)});
      } finally {
        store.close();
      }
    });

  return [append, read, tail, info, exportCommand, tenantsCommand, ...lifecycleCommands()];
}

async function toArray<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
