/**
 * The transport ceiling: a gRPC server with the store's .proto that stores
 * nothing. Append and AppendSession answer at once; Subscribe streams the same
 * pre-encoded batch of events over and over, or, from the end, passes each
 * appended event on to every such subscriber (encoded once, as the store does).
 * What a store built on this transport could at best reach, measured with the
 * same clients.
 *
 *   node dist/bench/ceilingServer.js <event-bytes>
 */
import {createServer} from 'nice-grpc';
import {EventStoreServerDefinition} from '../server/src/grpc/serverDefinition.js';
import {RecordedEvent, type ProposedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {encodeEventBatchResponse} from '../server/src/engine/encodedEvent.js';

const eventBytes = Number(process.argv[2] ?? 200);
const BATCH = 256;

function encodedEvent(position: number): Uint8Array {
  return RecordedEvent.encode({
    eventId: '0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11',
    tenant: 'bench',
    stream: 'bench-1',
    revision: BigInt(position - 1),
    position: BigInt(position),
    type: 'bench.Event',
    contentType: 'application/octet-stream',
    data: new Uint8Array(eventBytes),
    metadata: {},
    correlationId: '',
    causationId: '',
    actorId: '',
    occurredAt: undefined,
    recordedAt: new Date(),
    containsPersonalData: false,
    dataSubjectId: '',
    erased: false,
    sealed: new Uint8Array(0),
  }).finish();
}
const batch = Array.from({length: BATCH}, (_, i) => encodedEvent(i + 1));
const ok = {firstPosition: 1n, lastPosition: 1n, firstRevision: 0n, lastRevision: 0n, deduplicated: false};

/** Live subscribers: each a queue of framed messages and a wake-up. */
const live = new Set<{queue: Uint8Array[]; wake: (() => void) | undefined}>();
let position = 0;
function broadcast(events: readonly ProposedEvent[]): void {
  if (live.size === 0) return;
  const encoded = events.map(e =>
    RecordedEvent.encode({
      ...e,
      tenant: 'bench',
      stream: 'live',
      revision: BigInt(position),
      position: BigInt(++position),
      recordedAt: new Date(),
      erased: false,
      sealed: new Uint8Array(0),
    }).finish(),
  );
  const framed = encodeEventBatchResponse(encoded);
  for (const subscriber of live) {
    subscriber.queue.push(framed);
    subscriber.wake?.();
  }
}

const server = createServer({'grpc.max_receive_message_length': 64 * 1024 * 1024});
server.add(EventStoreServerDefinition, {
  append: async request => {
    broadcast(request.events);
    return ok;
  },
  readStream: async () => ({events: [], nextRevision: undefined, streamRevision: 0n}),
  readLog: async () => ({events: [], nextPosition: undefined, logPosition: 0n}),
  listTenants: async () => ({tenants: [], nextAfter: undefined}),
  getStreamInfo: async () => ({
    exists: false,
    revision: undefined,
    lastPosition: undefined,
    logPosition: 0n,
    deleted: false,
    tombstoned: false,
  }),
  eraseDataSubject: async () => ({position: 0n, keyDestroyed: false}),
  setStreamRetention: async () => ({}),
  deleteStream: async () => ({}),
  async *appendSession(requests) {
    for await (const message of requests) {
      for (const a of message.appends) broadcast(a.append?.events ?? []);
      yield {outcomes: message.appends.map(a => ({requestId: a.requestId, outcome: {$case: 'result' as const, value: ok}}))};
    }
  },
  async *subscribe(request, context) {
    if (request.from?.$case === 'end') {
      // Live: what is appended from now on, one message per append.
      const subscriber: {queue: Uint8Array[]; wake: (() => void) | undefined} = {queue: [], wake: undefined};
      live.add(subscriber);
      context.signal.addEventListener('abort', () => subscriber.wake?.());
      try {
        yield {content: {$case: 'caughtUp' as const, value: {position: BigInt(position)}}};
        while (!context.signal.aborted) {
          const framed = subscriber.queue.shift();
          if (framed !== undefined) yield {kind: 'framed' as const, framed};
          else await new Promise<void>(resolve => (subscriber.wake = resolve));
        }
      } finally {
        live.delete(subscriber);
      }
      return;
    }
    // maxBatchSize events per message, like the store; endless until cancelled.
    const size = request.maxBatchSize === 0 ? BATCH : Math.min(request.maxBatchSize, BATCH);
    const events = batch.slice(0, size);
    // A message's array is its own: the encoder empties it once encoded (spendBatch), as it does the store's.
    while (!context.signal.aborted) yield {kind: 'events' as const, encodedEvents: events.slice()};
  },
});
const port = await server.listen('127.0.0.1:0');
process.stdout.write(`CEILING_LISTENING 127.0.0.1:${port}\n`);
process.on('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});
