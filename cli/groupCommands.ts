import {Command} from 'commander';
import type {ConsumerGroup, ConsumerGroupSettings} from '../client/src/consumerGroupAdmin.js';
import {groups} from '../client/src/index.js';
import {connect, eventLine, printJsonLine, withConnection, type ConnectionFlags} from './connection.js';
import {wholeBigInt, wholeNumber} from './wholeNumbers.js';

type SettingFlags = {
  maxInFlight?: string;
  ackTimeoutMs?: string;
  maxAttempts?: string;
  retryBackoffMs?: string;
  maxRetryBackoffMs?: string;
};

/** Adds the flags of a group's settings. */
function withSettings(command: Command): Command {
  return command
    .option('--max-in-flight <n>', 'most events in flight to one consumer (default 64)')
    .option('--ack-timeout-ms <ms>', 'time to settle an event before it goes to another consumer (default 30000)')
    .option('--max-attempts <n>', 'deliveries before an event is parked (default 5)')
    .option('--retry-backoff-ms <ms>', 'wait before the first retry, doubling after (default 1000)')
    .option('--max-retry-backoff-ms <ms>', 'longest wait before a retry (default 60000)');
}

function settingsOf(flags: SettingFlags): ConsumerGroupSettings {
  const settings: ConsumerGroupSettings = {};
  if (flags.maxInFlight !== undefined) settings.maxInFlightPerConsumer = wholeNumber(flags.maxInFlight, '--max-in-flight');
  if (flags.ackTimeoutMs !== undefined) settings.ackTimeoutMs = wholeNumber(flags.ackTimeoutMs, '--ack-timeout-ms');
  if (flags.maxAttempts !== undefined) settings.maxAttempts = wholeNumber(flags.maxAttempts, '--max-attempts');
  if (flags.retryBackoffMs !== undefined) settings.retryBackoffMs = wholeNumber(flags.retryBackoffMs, '--retry-backoff-ms');
  if (flags.maxRetryBackoffMs !== undefined) settings.maxRetryBackoffMs = wholeNumber(flags.maxRetryBackoffMs, '--max-retry-backoff-ms');
  return settings;
}

/** A group as a JSON line: the proto3 JSON mapping, as grpcurl prints it. */
function groupLine(group: ConsumerGroup): unknown {
  return groups.ConsumerGroup.toJSON(group);
}

/** Runs `work` with a client for `flags`, closing it after. */
async function withClient<T>(flags: ConnectionFlags, work: (client: ReturnType<typeof connect>) => Promise<T>): Promise<T> {
  const client = connect(flags);
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

/** `groups …`: manage consumer groups, look at their parked events, and consume from the command line. */
export function groupCommands(): Command {
  const command = new Command('groups').description('manage consumer groups (competing consumers with acks, retries and parking)');

  command.addCommand(
    withSettings(withConnection(new Command('create')))
      .description('create a consumer group over the log (or one stream)')
      .argument('<name>', 'group name')
      .option('--stream <stream>', 'read only this stream')
      .option('--type <type...>', 'only these event types')
      .option('--stream-prefix <prefix...>', 'only streams starting with these (log groups)')
      .option('--from <where>', 'start, end, or a log position to start after', 'start')
      .option('--ordering-key <key>', 'stream, correlation-id or none', 'stream')
      .option('--partitions <n>', 'parts the keys are split into (several servers on PostgreSQL share them)', '1')
      .action(async (name: string, flags: ConnectionFlags & SettingFlags & Record<string, string | string[] | undefined>) => {
        const from = flags.from as string;
        const orderingKey = {stream: 'stream', 'correlation-id': 'correlationId', none: 'none'}[flags.orderingKey as string];
        if (orderingKey === undefined)
          throw new Error(`--ordering-key must be stream, correlation-id or none, got "${String(flags.orderingKey)}"`);
        if (from !== 'start' && from !== 'end' && !/^\d+$/.test(from))
          throw new Error(`--from must be start, end or a position, got "${from}"`);
        const group = await withClient(flags, client =>
          client.createConsumerGroup(name, {
            ...(flags.stream === undefined ? {} : {stream: flags.stream as string}),
            ...(flags.type === undefined && flags.streamPrefix === undefined
              ? {}
              : {filter: {eventTypes: (flags.type as string[]) ?? [], streamPrefixes: (flags.streamPrefix as string[]) ?? []}}),
            from: from === 'start' || from === 'end' ? from : {afterPosition: wholeBigInt(from, '--from')},
            orderingKey: orderingKey as 'stream' | 'correlationId' | 'none',
            partitions: wholeNumber(flags.partitions as string, '--partitions'),
            settings: settingsOf(flags),
          }),
        );
        printJsonLine(groupLine(group));
      }),
  );

  command.addCommand(
    withSettings(withConnection(new Command('update')))
      .description("change a group's settings")
      .argument('<name>', 'group name')
      .action(async (name: string, flags: ConnectionFlags & SettingFlags) => {
        printJsonLine(groupLine(await withClient(flags, client => client.updateConsumerGroup(name, settingsOf(flags)))));
      }),
  );

  command.addCommand(
    withConnection(new Command('delete'))
      .description('delete a group, its progress and its parked events')
      .argument('<name>', 'group name')
      .action(async (name: string, flags: ConnectionFlags) => {
        await withClient(flags, client => client.deleteConsumerGroup(name));
        process.stderr.write(`deleted consumer group ${name}\n`);
      }),
  );

  command.addCommand(
    withConnection(new Command('list'))
      .description("list the tenant's groups as JSON lines")
      .action(async (flags: ConnectionFlags) => {
        for (const group of await withClient(flags, client => client.listConsumerGroups())) printJsonLine(groupLine(group));
      }),
  );

  command.addCommand(
    withConnection(new Command('describe'))
      .description('show a group and where it stands: checkpoint, log position, parked events, consumers')
      .argument('<name>', 'group name')
      .action(async (name: string, flags: ConnectionFlags) => {
        const described = await withClient(flags, client => client.describeConsumerGroup(name));
        printJsonLine(groups.DescribeConsumerGroupResponse.toJSON(described));
      }),
  );

  command.addCommand(
    withConnection(new Command('parked'))
      .description("list a group's parked events as JSON lines")
      .argument('<name>', 'group name')
      .action(async (name: string, flags: ConnectionFlags) => {
        await withClient(flags, async client => {
          for await (const parked of client.listParkedEvents(name)) {
            printJsonLine({
              reason: parked.reason,
              attempts: parked.attempts,
              parkedAt: parked.parkedAt?.toISOString(),
              event: eventLine(parked.event),
            });
          }
        });
      }),
  );

  command.addCommand(
    withConnection(new Command('replay'))
      .description("deliver a group's parked events again")
      .argument('<name>', 'group name')
      .option('--up-to <position>', 'only those up to this log position')
      .action(async (name: string, flags: ConnectionFlags & {upTo?: string}) => {
        const count = await withClient(flags, client =>
          client.replayParkedEvents(name, flags.upTo === undefined ? {} : {upToPosition: wholeBigInt(flags.upTo, '--up-to')}),
        );
        process.stderr.write(`replaying ${count} parked events\n`);
      }),
  );

  command.addCommand(
    withConnection(new Command('consume'))
      .description('join a group as a consumer: print each event delivered as a JSON line and acknowledge it')
      .argument('<name>', 'group name')
      .option('--max-count <n>', 'stop after this many events')
      .action(async (name: string, flags: ConnectionFlags & {maxCount?: string}) => {
        const limit = flags.maxCount === undefined ? Infinity : wholeNumber(flags.maxCount, '--max-count');
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        let printed = 0;
        await withClient(flags, async client => {
          try {
            for await (const message of client.consume(name, {signal: stop.signal, prefetch: Math.min(64, limit)})) {
              printJsonLine({attempt: message.attempt, event: eventLine(message.event)});
              await message.ack();
              if (++printed >= limit) break;
            }
          } catch (error) {
            if (!stop.signal.aborted) throw error;
          }
        });
      }),
  );
  return command;
}
