export {createEventStoreClient, defaultChannelOptions} from './createEventStoreClient.js';
export {EventStoreClientDefinition} from './clientDefinition.js';
export {ChannelCredentials} from 'nice-grpc';
export type {
  AppendResult,
  CallOptions,
  EventEnvelope,
  EventInput,
  EventStoreClient,
  EventStoreClientOptions,
  ExpectedRevision,
  ReadOptions,
  TenantSummary,
} from './createEventStoreClient.js';
export {
  decodeDomainEvent,
  domainEventJson,
  domainEventTypes,
  encodeDomainEvent,
  isDomainEventType,
  JSON_CONTENT_TYPE,
  PROTOBUF,
} from './domainEvents.js';
export type {DomainEvent, DomainEventEncoding, DomainEventInput, DomainEventMap, DomainEventType} from './domainEvents.js';
export {
  DuplicateEventIdError,
  ERROR_DOMAIN,
  EventStoreError,
  InvalidRequestError,
  isDuplicateEventIdError,
  isEventStoreError,
  isInvalidRequestError,
  isStreamNotFoundError,
  isWrongExpectedRevisionError,
  StreamNotFoundError,
  WrongExpectedRevisionError,
} from './errors.js';
export {parseJsonData, toStoredEvent} from './storedEvent.js';
export {EventDecodeError, jsonEvent, protobufEvent, typedEvents, UnknownEventTypeError} from './typedEvents.js';
export type {
  DataOf,
  EventCodec,
  EventCodecs,
  ProtobufMessageFns,
  StoredEnvelope,
  TypedEventInput,
  TypedEventStore,
  TypedStoredEvent,
  TypedSubscriptionMessage,
} from './typedEvents.js';
export type {StoredEvent} from './storedEvent.js';
export type {SubscribeOptions, Subscription, SubscriptionMessage, SubscriptionStart} from './subscription.js';
export type {ConsumeOptions, ConsumerMessage, NackOptions} from './consumer.js';
export type {ConsumerGroupAdmin, CreateConsumerGroupOptions, GroupCallOptions, ParkedEventInfo} from './consumerGroupAdmin.js';
export type {DataLifecycleAdmin, LifecycleCallOptions, StreamInfo, StreamRetention} from './dataLifecycle.js';
export * as groups from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/consumer_groups.js';
export {uuidv7} from '@edupulse/event-store-protocol/uuid.js';
export * as events from '@edupulse/event-store-protocol/gen/edupulse/events/v1/events.js';
export * as wire from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
export * as envelope from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
