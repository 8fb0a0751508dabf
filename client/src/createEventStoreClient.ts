import {ChannelCredentials, createChannel, createClientFactory, type Channel, type ChannelOptions} from 'nice-grpc';
import {deadlineMiddleware} from 'nice-grpc-client-middleware-deadline';
import {retryMiddleware} from 'nice-grpc-client-middleware-retry';
import {errorDetailsClientMiddleware} from 'nice-grpc-error-details';
import {Metadata, Status} from 'nice-grpc-common';
import {
  encodeDomainEvent,
  isDomainEventType,
  jsonBytes,
  JSON_CONTENT_TYPE,
  type DomainEventEncoding,
  type DomainEventInput,
} from './domainEvents.js';
import {callSignal} from './abortWatch.js';
import {AppendPipeline} from './appendPipeline.js';
import {EventStoreClientDefinition} from './clientDefinition.js';
import {EventStoreError} from './errors.js';
import type {ProposedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import {
  ReadDirection,
  type AppendRequest,
  type EventFilter,
  type EventStoreServiceClient,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {toStoredEvent, type StoredEvent} from './storedEvent.js';
import {createSubscription, type SubscribeOptions, type Subscription} from './subscription.js';
import {
  ConsumerGroupServiceDefinition,
  type ConsumerGroupServiceClient,
} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/consumer_groups.js';
import {ConsumerGroupAdmin} from './consumerGroupAdmin.js';
import {DataLifecycleAdmin, fromWireRetention, type StreamInfo} from './dataLifecycle.js';
import {toWireExpectedRevision, type ExpectedRevision} from './expectedRevision.js';

export type {ExpectedRevision};
import {createConsumer, type ConsumeOptions, type ConsumerMessage} from './consumer.js';
import {uuidv7} from '@edupulse/event-store-protocol/uuid.js';

/** Envelope fields an appended event may carry besides its payload. */
export type EventEnvelope = {
  /** Idempotency key; default a fresh UUIDv7, made once, before the first try. */
  eventId?: string;
  metadata?: Record<string, string>;
  correlationId?: string;
  causationId?: string;
  actorId?: string;
  /** When it happened, by your clock. */
  occurredAt?: Date;
  /**
   * The person this event's personal data is about (GDPR): the store keeps
   * its data and metadata encrypted with that subject's key, and
   * `eraseDataSubject` destroys the key. Sets `containsPersonalData`.
   */
  dataSubjectId?: string;
  /** The event holds personal data; needs `dataSubjectId`. */
  containsPersonalData?: boolean;
};

/** An event to append: a typed domain event, any JSON value, or raw bytes, plus envelope fields. */
export type EventInput = EventEnvelope &
  (
    | (DomainEventInput & {encoding?: DomainEventEncoding})
    | {type: string; json: unknown}
    | {type: string; data: Uint8Array; contentType?: string}
  );

/** Where an append's events went. */
export type AppendResult = {
  firstPosition: bigint;
  lastPosition: bigint;
  firstRevision: bigint;
  /** The stream's revision now: the `expectedRevision` for your next append. */
  lastRevision: bigint;
  /** True when the store had these events already (a retry): nothing was written. */
  deduplicated: boolean;
};

/** Options of {@link createEventStoreClient}. */
export type EventStoreClientOptions = {
  /** Tenant of every call that names none; default `"default"`. */
  tenant?: string;
  /** Deadline of each unary call, retries included; default 10 s. */
  deadlineMs?: number;
  /** Attempts of an append or read before giving up; default 5. */
  maxAttempts?: number;
  /** How typed domain events are encoded; default protobuf. */
  encoding?: DomainEventEncoding;
  /**
   * Send appends over one append session (a bidirectional call) rather than one
   * call each: much cheaper for concurrent appends. Default true; falls back to
   * unary calls by itself when the server has no sessions.
   */
  appendSession?: boolean;
  /** API key, sent as `authorization: Bearer <key>` on every call, when the server requires keys. */
  apiKey?: string;
  /** TLS (e.g. `ChannelCredentials.createSsl(ca)`), or mutual TLS with a client certificate; default plaintext. */
  credentials?: ChannelCredentials;
  /** grpc-js channel options. */
  channelOptions?: ChannelOptions;
};

/** A tenant with events, as `listTenants` gives it. */
export type TenantSummary = {tenant: string; logPosition: bigint};

/** Options shared by calls. */
export type CallOptions = {tenant?: string; signal?: AbortSignal; deadlineMs?: number};

/** Options of a read. */
export type ReadOptions = CallOptions & {
  /** First revision (streams) or position (log) to read, inclusive. */
  from?: bigint;
  direction?: 'forwards' | 'backwards';
  /** Most events in all; default: everything. */
  maxCount?: number;
  /** Events per round trip; default 500. */
  pageSize?: number;
};

/** A typed, retrying, resumable client of the EduPulse event store. */
export type EventStoreClient = ConsumerGroupAdmin &
  DataLifecycleAdmin & {
    /**
     * Appends events to a stream, all or nothing. Event ids are made before the
     * first try, so a timed-out or dropped call is retried without duplicating.
     * Throws {@link WrongExpectedRevisionError} when `expectedRevision` does not hold.
     */
    appendToStream(
      stream: string,
      events: readonly EventInput[],
      options?: CallOptions & {expectedRevision?: ExpectedRevision},
    ): Promise<AppendResult>;
    /** Reads a stream, page by page, as an async iterable. Throws {@link StreamNotFoundError} for a missing stream. */
    readStream(stream: string, options?: ReadOptions): AsyncIterable<StoredEvent>;
    /**
     * Reads a tenant's log, page by page, optionally filtered. With `sealed`
     * (an admin key; for backups), personal events come encrypted, as
     * `eventstore import` restores them.
     */
    readLog(options?: ReadOptions & {filter?: Partial<EventFilter>; sealed?: boolean}): AsyncIterable<StoredEvent>;
    /**
     * Whether a stream exists (has events to read), its revision and last
     * position (also of a deleted stream), the log's last position, and its
     * retention and deletion.
     */
    getStreamInfo(stream: string, options?: CallOptions): Promise<StreamInfo>;
    /**
     * The tenants that have events, in name order, with their logs' last
     * positions, fetched a page at a time: for backups of every tenant. Needs
     * an admin key of every tenant (`"*"`) when the server has keys.
     */
    listTenants(options?: Omit<CallOptions, 'tenant'>): AsyncIterable<TenantSummary>;
    /** Subscribes to the log or a stream: history, then live, resuming by itself after disconnects. */
    subscribe(options?: SubscribeOptions): Subscription;
    /**
     * Consumes a consumer group: `for await (const message of client.consume(group, {signal}))`,
     * then `message.ack()` or `message.nack({action, reason})`. Reconnects by itself.
     */
    consume(group: string, options?: ConsumeOptions): AsyncIterable<ConsumerMessage>;
    /** The generated nice-grpc client, for anything this layer does not cover. */
    readonly raw: EventStoreServiceClient;
    /** The generated nice-grpc client of consumer groups. */
    readonly rawGroups: ConsumerGroupServiceClient;
    /** Closes the channel (when the client created it). */
    close(): void;
  };

const RETRYABLE_STATUSES = [Status.UNAVAILABLE, Status.INTERNAL, Status.UNKNOWN, Status.CANCELLED, Status.RESOURCE_EXHAUSTED];

/** The metadata of an event appended without any: one object for all (never written to). */
const NO_METADATA: Record<string, string> = Object.freeze({});

function toProposedEvent(input: EventInput, encoding: DomainEventEncoding): ProposedEvent {
  let data: Uint8Array;
  let contentType: string;
  if ('json' in input) {
    data = jsonBytes(input.json);
    contentType = JSON_CONTENT_TYPE;
  } else if (input.data instanceof Uint8Array) {
    data = input.data;
    contentType = 'contentType' in input ? (input.contentType ?? '') : '';
  } else if (isDomainEventType(input.type)) {
    const domain = input as DomainEventInput & {encoding?: DomainEventEncoding};
    ({data, contentType} = encodeDomainEvent(domain, domain.encoding ?? encoding));
  } else {
    throw new EventStoreError(
      `event type "${input.type}" is not an EduPulse domain event: send {type, json} or {type, data: Uint8Array}`,
      Status.INVALID_ARGUMENT,
    );
  }
  // One object per event, built whole: it goes straight to the request's encoder.
  return {
    eventId: input.eventId ?? uuidv7(),
    type: input.type,
    contentType,
    data,
    metadata: input.metadata ?? NO_METADATA,
    correlationId: input.correlationId ?? '',
    causationId: input.causationId ?? '',
    actorId: input.actorId ?? '',
    occurredAt: input.occurredAt,
    containsPersonalData: input.containsPersonalData ?? input.dataSubjectId !== undefined,
    dataSubjectId: input.dataSubjectId ?? '',
  };
}

function toFilter(filter: Partial<EventFilter> | undefined): EventFilter | undefined {
  if (filter === undefined) return undefined;
  return {
    streams: filter.streams ?? [],
    streamPrefixes: filter.streamPrefixes ?? [],
    eventTypes: filter.eventTypes ?? [],
    eventTypePrefixes: filter.eventTypePrefixes ?? [],
  };
}

/**
 * The grpc-js options of the channels the SDK creates; pass them to
 * `createChannel` when you bring your own channel.
 */
export const defaultChannelOptions: ChannelOptions = {
  // Detect dead connections that TCP has not noticed.
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  // grpc-js keeps HTTP/2's 64 KiB receive window (grpc-go and gRPC C-core grow
  // theirs by probing): a subscription catching up then waits a round trip per
  // 64 KiB. With 4 MiB, 2 KiB events catch up at 120k/s instead of 72k/s.
  'grpc-node.flow_control_window': 4 * 1024 * 1024,
};

/**
 * Creates a client. `target` is `host:port` (a channel is created and owned) or
 * an existing nice-grpc channel.
 */
export function createEventStoreClient(target: string | Channel, options: EventStoreClientOptions = {}): EventStoreClient {
  const ownsChannel = typeof target === 'string';
  const channel =
    typeof target === 'string'
      ? createChannel(target, options.credentials ?? ChannelCredentials.createInsecure(), {
          ...defaultChannelOptions,
          ...options.channelOptions,
        })
      : target;
  const tenantOf = (o: CallOptions | undefined): string => o?.tenant ?? options.tenant ?? '';
  const address = typeof target === 'string' ? target : 'the server';
  // Whether the server has answered a call of this client (with any status of its own): from then on calls are retried.
  let answered = false;
  const deadlineMs = options.deadlineMs ?? 10_000;
  const encoding = options.encoding ?? 'protobuf';
  // One middleware chain and one set of call defaults for both services' clients.
  const factory = createClientFactory().use(errorDetailsClientMiddleware).use(retryMiddleware).use(deadlineMiddleware);
  const everyCall = {
    retryMaxAttempts: options.maxAttempts ?? 5,
    retryableStatuses: RETRYABLE_STATUSES,
    ...(options.apiKey === undefined ? {} : {metadata: Metadata({authorization: `Bearer ${options.apiKey}`})}),
  };
  const raw = factory.create(EventStoreClientDefinition, channel, {
    '*': everyCall,
    // Safe because every event carries its id from the first try on.
    append: {retry: true},
  });
  const rawGroups = factory.create(ConsumerGroupServiceDefinition, channel, {
    '*': everyCall,
    // Reads are safe to retry; creating, deleting and replaying are not (a retry could answer ALREADY_EXISTS or NOT_FOUND).
    listConsumerGroups: {retry: true},
    describeConsumerGroup: {retry: true},
    listParkedEvents: {retry: true},
  });

  /**
   * Runs one call with its deadline and cancellation: the caller's signal, if
   * any, reaches the transport as a signal of the call's own (abortWatch.ts),
   * so that a signal shared by many calls holds one listener, not one per call.
   */
  async function call<T>(
    o: CallOptions | undefined,
    run: (callOptions: {deadline: number; signal?: AbortSignal}) => Promise<T>,
  ): Promise<T> {
    const linked = o?.signal === undefined ? undefined : callSignal(o.signal);
    // Until the server has answered once, a call is not retried: a wrong address or port fails at once, with its cause.
    const callOptions = {
      deadline: o?.deadlineMs ?? deadlineMs,
      ...(linked ? {signal: linked.signal} : {}),
      ...(answered ? {} : {retry: false}),
    };
    try {
      const result = await run(callOptions);
      answered = true;
      return result;
    } catch (error) {
      throw connectionFailure(error) ?? EventStoreError.from(error);
    } finally {
      linked?.release();
    }
  }

  /**
   * A call that failed because the server was never reached, as an
   * UNAVAILABLE naming the address and gRPC's cause (ECONNREFUSED, a TLS
   * handshake, a name that does not resolve); undefined for any other failure.
   */
  function connectionFailure(error: unknown): EventStoreError | undefined {
    const code = (error as {code?: Status}).code;
    if (code !== Status.UNAVAILABLE) {
      // Any other status (but a deadline, which a slow server may cause) is the server's own answer.
      if (code !== undefined && code !== Status.DEADLINE_EXCEEDED && code !== Status.CANCELLED) answered = true;
      return undefined;
    }
    if (answered) return undefined;
    const details = (error as {details?: unknown}).details;
    const cause = typeof details === 'string' && details !== '' ? details : error instanceof Error ? error.message : String(error);
    return new EventStoreError(`cannot connect to ${address}: ${cause}`, Status.UNAVAILABLE, {cause: error});
  }

  async function* pages(
    fetch: (from: bigint | undefined, count: number) => Promise<{events: StoredEvent[]; next: bigint | undefined}>,
    read: ReadOptions,
  ): AsyncGenerator<StoredEvent> {
    let remaining = read.maxCount ?? Infinity;
    let from = read.from;
    while (remaining > 0) {
      const page = await fetch(from, Math.min(read.pageSize ?? 500, remaining));
      for (const event of page.events) yield event;
      remaining -= page.events.length;
      if (page.next === undefined) return;
      from = page.next;
    }
  }

  const direction = (o: ReadOptions | undefined): ReadDirection =>
    o?.direction === 'backwards' ? ReadDirection.READ_DIRECTION_BACKWARDS : ReadDirection.READ_DIRECTION_FORWARDS;

  const unaryAppend = (request: AppendRequest, ms: number, signal?: AbortSignal) =>
    raw.append(request, {deadline: ms > 0 ? ms : deadlineMs, ...(signal ? {signal} : {}), ...(answered ? {} : {retry: false})});
  const pipeline = options.appendSession === false ? undefined : AppendPipeline(raw, unaryAppend);

  const client: EventStoreClient = {
    ...ConsumerGroupAdmin(rawGroups, call, tenantOf),
    ...DataLifecycleAdmin(raw, call, tenantOf),
    raw,
    rawGroups,
    consume(group, o = {}) {
      return createConsumer(rawGroups, group, {...o, tenant: tenantOf(o)});
    },
    appendToStream(stream, events, o) {
      // Built once: every retry sends the very same ids.
      const request: AppendRequest = {
        tenant: tenantOf(o),
        stream,
        expectedRevision: toWireExpectedRevision(o?.expectedRevision),
        events: events.map(e => toProposedEvent(e, encoding)),
      };
      return call(o, ({deadline, signal}) => (pipeline ?? {append: unaryAppend}).append(request, deadline, signal));
    },
    readStream(stream, o) {
      return pages(async (from, count) => {
        const page = await call(o, callOptions =>
          raw.readStream({tenant: tenantOf(o), stream, direction: direction(o), fromRevision: from, maxCount: count}, callOptions),
        );
        return {events: page.events.map(toStoredEvent), next: page.nextRevision};
      }, o ?? {});
    },
    readLog(o) {
      return pages(async (from, count) => {
        const page = await call(o, callOptions =>
          raw.readLog(
            {
              tenant: tenantOf(o),
              direction: direction(o),
              fromPosition: from,
              maxCount: count,
              filter: toFilter(o?.filter),
              sealed: o?.sealed ?? false,
            },
            callOptions,
          ),
        );
        return {events: page.events.map(toStoredEvent), next: page.nextPosition};
      }, o ?? {});
    },
    async *listTenants(o) {
      for (let after = ''; ;) {
        const page = await call(o, callOptions => raw.listTenants({after, maxCount: 1000}, callOptions));
        yield* page.tenants;
        if (page.nextAfter === undefined) return;
        after = page.nextAfter;
      }
    },
    async getStreamInfo(stream, o) {
      const info = await call(o, callOptions => raw.getStreamInfo({tenant: tenantOf(o), stream}, callOptions));
      return {
        exists: info.exists,
        revision: info.revision,
        lastPosition: info.lastPosition,
        logPosition: info.logPosition,
        retention: info.retention === undefined ? undefined : fromWireRetention(info.retention),
        deleted: info.deleted,
        tombstoned: info.tombstoned,
      };
    },
    subscribe(o = {}) {
      const tenant = tenantOf(o);
      return createSubscription(raw, {...o, tenant}, async () => {
        // "From the end", pinned to a concrete place so that reconnects resume there.
        if (o.stream !== undefined) {
          const info = await client.getStreamInfo(o.stream, {tenant});
          return info.revision === undefined ? 'start' : {afterRevision: info.revision};
        }
        const head = await call(undefined, callOptions =>
          raw.readLog({tenant, direction: ReadDirection.READ_DIRECTION_BACKWARDS, maxCount: 1}, callOptions),
        );
        return {afterPosition: head.logPosition};
      });
    },
    close() {
      pipeline?.close();
      if (ownsChannel) channel.close();
    },
  };
  return client;
}
