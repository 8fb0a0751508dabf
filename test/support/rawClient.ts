import {Client, Metadata, credentials, status as Status, type ServiceError} from '@grpc/grpc-js';

/** How a call sent as raw bytes ended: its status, and the response messages' bytes. */
export type RawOutcome = {code: Status; details: string; messages: Buffer[]};

/** The event store's methods and the consumer groups', by their path. */
export const RAW_METHODS = {
  append: '/edupulse.eventstore.v1.EventStoreService/Append',
  appendSession: '/edupulse.eventstore.v1.EventStoreService/AppendSession',
  readStream: '/edupulse.eventstore.v1.EventStoreService/ReadStream',
  readLog: '/edupulse.eventstore.v1.EventStoreService/ReadLog',
  getStreamInfo: '/edupulse.eventstore.v1.EventStoreService/GetStreamInfo',
  listTenants: '/edupulse.eventstore.v1.EventStoreService/ListTenants',
  subscribe: '/edupulse.eventstore.v1.EventStoreService/Subscribe',
  eraseDataSubject: '/edupulse.eventstore.v1.EventStoreService/EraseDataSubject',
  setStreamRetention: '/edupulse.eventstore.v1.EventStoreService/SetStreamRetention',
  deleteStream: '/edupulse.eventstore.v1.EventStoreService/DeleteStream',
  createConsumerGroup: '/edupulse.eventstore.v1.ConsumerGroupService/CreateConsumerGroup',
  updateConsumerGroup: '/edupulse.eventstore.v1.ConsumerGroupService/UpdateConsumerGroup',
  deleteConsumerGroup: '/edupulse.eventstore.v1.ConsumerGroupService/DeleteConsumerGroup',
  describeConsumerGroup: '/edupulse.eventstore.v1.ConsumerGroupService/DescribeConsumerGroup',
  listParkedEvents: '/edupulse.eventstore.v1.ConsumerGroupService/ListParkedEvents',
  replayParkedEvents: '/edupulse.eventstore.v1.ConsumerGroupService/ReplayParkedEvents',
  consume: '/edupulse.eventstore.v1.ConsumerGroupService/Consume',
} as const;
export type RawMethod = keyof typeof RAW_METHODS;

/**
 * A gRPC client that sends request bytes as they are, so that tests can send
 * what no generated encoder writes (truncated, extended or corrupted
 * messages); responses come back as bytes too.
 */
export type RawClient = {
  /** A unary call. */
  unary(method: RawMethod, request: Uint8Array, deadlineMs: number): Promise<RawOutcome>;
  /**
   * A server-streaming call; once `messagesBeforeCancel` messages have come,
   * the client cancels it (a subscription never ends by itself), and the
   * outcome is OK with those messages.
   */
  serverStream(method: RawMethod, request: Uint8Array, deadlineMs: number, messagesBeforeCancel: number): Promise<RawOutcome>;
  /** A bidirectional call: writes `requests`, half-closes, and collects the responses until the status. */
  bidi(method: RawMethod, requests: readonly Uint8Array[], deadlineMs: number): Promise<RawOutcome>;
  close(): void;
};

const asIs = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const received = (bytes: Buffer): Buffer => bytes;

export function RawClient(address: string): RawClient {
  const client = new Client(address, credentials.createInsecure());
  const deadline = (ms: number) => ({deadline: Date.now() + ms});
  return {
    unary(method, request, deadlineMs) {
      return new Promise(resolve => {
        client.makeUnaryRequest(RAW_METHODS[method], asIs, received, request, new Metadata(), deadline(deadlineMs), (error, response) => {
          if (error) resolve({code: error.code, details: error.details, messages: []});
          else resolve({code: Status.OK, details: '', messages: response === undefined ? [] : [response]});
        });
      });
    },
    serverStream(method, request, deadlineMs, messagesBeforeCancel) {
      return new Promise(resolve => {
        const call = client.makeServerStreamRequest(RAW_METHODS[method], asIs, received, request, new Metadata(), deadline(deadlineMs));
        const messages: Buffer[] = [];
        let cancelled = false;
        call.on('data', (message: Buffer) => {
          messages.push(message);
          if (messages.length >= messagesBeforeCancel && !cancelled) {
            cancelled = true;
            call.cancel();
          }
        });
        call.on('error', (error: ServiceError) => {
          if (cancelled && error.code === Status.CANCELLED) resolve({code: Status.OK, details: 'cancelled by the client', messages});
          else resolve({code: error.code, details: error.details, messages});
        });
        call.on('status', ({code, details}) => {
          if (code === Status.OK) resolve({code, details, messages});
        });
      });
    },
    bidi(method, requests, deadlineMs) {
      return new Promise(resolve => {
        const call = client.makeBidiStreamRequest(RAW_METHODS[method], asIs, received, new Metadata(), deadline(deadlineMs));
        const messages: Buffer[] = [];
        call.on('data', (message: Buffer) => messages.push(message));
        call.on('error', (error: ServiceError) => resolve({code: error.code, details: error.details, messages}));
        call.on('status', ({code, details}) => {
          if (code === Status.OK) resolve({code, details, messages});
        });
        for (const request of requests) call.write(request);
        call.end();
      });
    },
    close: () => client.close(),
  };
}
