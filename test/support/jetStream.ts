import {readFileSync} from 'node:fs';
import {connect, type NatsConnection} from '@nats-io/transport-node';
import {DeliverPolicy, JetStreamApiError, jetstream, jetstreamManager} from '@nats-io/jetstream';

export {startNats, type TestNats} from '../../scripts/throwawayNats.js';

/** A message as a JetStream consumer reads it. */
export type RelayedMessage = {seq: number; subject: string; headers: Record<string, string>; data: Uint8Array};

/** A connection to the NATS server at `url`, for reading what the relay published; it reconnects while the server restarts. */
export function natsClient(url: string, token?: string, tlsCa?: string): Promise<NatsConnection> {
  return connect({
    servers: url.replace(/^(nats|tls):\/\//, ''),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...(token === undefined ? {} : {token}),
    ...(tlsCa === undefined ? {} : {tls: {ca: readFileSync(tlsCa, 'utf8')}}),
  });
}

/** Messages the stream holds now (0 while it does not exist). */
export async function storedCount(nc: NatsConnection, stream: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  try {
    return (await jsm.streams.info(stream)).state.messages;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.status === 404) return 0;
    throw error;
  }
}

/** Waits until the stream holds at least `count` messages (polling; timeouts leave room for a busy machine). */
export async function waitForStored(
  nc: NatsConnection,
  stream: string,
  count: number,
  timeoutMs = Number(process.env.RELAY_WAIT_MS ?? 120_000),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let stored = 0;
  while ((stored = await storedCount(nc, stream)) < count) {
    if (Date.now() > deadline) throw new Error(`stream ${stream} holds ${stored} messages after ${timeoutMs} ms, expected ${count}`);
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

/** Every message of `stream`, read by an ordered consumer from the first. */
export async function readStream(nc: NatsConnection, stream: string): Promise<RelayedMessage[]> {
  const total = await storedCount(nc, stream);
  const messages: RelayedMessage[] = [];
  if (total === 0) return messages;
  const consumer = await jetstream(nc).consumers.get(stream, {deliver_policy: DeliverPolicy.All});
  const iterator = await consumer.consume();
  for await (const m of iterator) {
    const headers: Record<string, string> = {};
    for (const [key, values] of m.headers ?? []) headers[key] = values[0] ?? '';
    messages.push({seq: m.seq, subject: m.subject, headers, data: m.data});
    if (m.info.pending === 0 && messages.length >= total) break;
  }
  await iterator.close();
  return messages;
}
