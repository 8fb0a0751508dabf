/**
 * The transport ceiling: a gRPC server with the store's .proto that stores
 * nothing. Append and AppendSession answer at once; Subscribe streams the same
 * pre-encoded batch of events over and over. What a store built on this
 * transport could at best reach, measured with the same clients.
 *
 *   node dist/bench/ceilingServer.js <event-bytes>
 */
import {createServer} from 'nice-grpc';
import {EventStoreServerDefinition} from '../server/src/serverDefinition.js';
import {RecordedEvent} from '../client/src/gen/edupulse/eventstore/v1/event.js';

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
  }).finish();
}
const batch = Array.from({length: BATCH}, (_, i) => encodedEvent(i + 1));
const ok = {firstPosition: 1n, lastPosition: 1n, firstRevision: 0n, lastRevision: 0n, deduplicated: false};

const server = createServer({'grpc.max_receive_message_length': 64 * 1024 * 1024});
server.add(EventStoreServerDefinition, {
  append: async () => ok,
  readStream: async () => ({events: [], nextRevision: undefined, streamRevision: 0n}),
  readLog: async () => ({events: [], nextPosition: undefined, logPosition: 0n}),
  getStreamInfo: async () => ({exists: false, revision: undefined, lastPosition: undefined, logPosition: 0n}),
  async *appendSession(requests) {
    for await (const message of requests) {
      yield {outcomes: message.appends.map(a => ({requestId: a.requestId, outcome: {$case: 'result' as const, value: ok}}))};
    }
  },
  async *subscribe(request, context) {
    // maxBatchSize events per message, like the store; endless until cancelled.
    const size = request.maxBatchSize === 0 ? BATCH : Math.min(request.maxBatchSize, BATCH);
    const events = batch.slice(0, size);
    while (!context.signal.aborted) yield {encodedEvents: events};
  },
});
const port = await server.listen('127.0.0.1:0');
process.stdout.write(`CEILING_LISTENING 127.0.0.1:${port}\n`);
process.on('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});
