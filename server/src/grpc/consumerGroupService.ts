import type {ServiceImplementation} from 'nice-grpc';
import type {ConsumeRequest} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/consumer_groups.js';
import type {Limits} from '../config/config.js';
import type {ConsumerGroups} from '../groups/consumerGroups.js';
import {ConsumerSession} from '../groups/consumerSession.js';
import type {ConsumerGroupServerDefinition} from './groupServerDefinition.js';
import {toProtoGroup, type ServerConsumeResponse} from './groupResponses.js';
import {
  validateConsumeJoin,
  validateConsumeMessage,
  validateCreateGroup,
  validateGroupRef,
  validateListParked,
  validateSettingsPatch,
  validateTenantOnly,
} from './groupValidation.js';
import {checkSequence, Violations} from './validation.js';

/** The gRPC face of consumer groups. */
export type ConsumerGroupServiceImpl = ServiceImplementation<typeof ConsumerGroupServerDefinition>;

/** Creates the ConsumerGroupService implementation; `groupsOf` throws UNAVAILABLE while the server is starting. */
export function ConsumerGroupServiceImpl(groupsOf: () => ConsumerGroups, limits: Limits): ConsumerGroupServiceImpl {
  return {
    async createConsumerGroup(request) {
      return {group: toProtoGroup(await groupsOf().create(validateCreateGroup(request, limits)))};
    },

    async updateConsumerGroup(request) {
      const {tenant, name} = validateGroupRef(request, request.name, 'name', limits);
      const patch = validateSettingsPatch(request.settings);
      return {group: toProtoGroup(await groupsOf().update(tenant, name, patch))};
    },

    async deleteConsumerGroup(request) {
      const {tenant, name} = validateGroupRef(request, request.name, 'name', limits);
      await groupsOf().delete(tenant, name);
      return {};
    },

    async listConsumerGroups(request) {
      return {groups: (await groupsOf().list(validateTenantOnly(request, limits))).map(toProtoGroup)};
    },

    async describeConsumerGroup(request) {
      const {tenant, name} = validateGroupRef(request, request.name, 'name', limits);
      const described = await groupsOf().describe(tenant, name);
      const saved = described.partitions.map(p => p.checkpoint);
      return {
        group: toProtoGroup(described.group),
        status: {
          checkpoint: BigInt(saved.length === 0 ? described.group.startAfter : Math.min(...saved)),
          logPosition: BigInt(described.logPosition),
          parked: BigInt(described.parked),
          consumers: described.here?.consumers ?? 0,
          inFlight: described.here?.inFlight ?? 0,
          partitions: described.partitions.map(p => ({partition: p.partition, checkpoint: BigInt(p.checkpoint), owner: p.owner ?? ''})),
        },
      };
    },

    async listParkedEvents(request) {
      const {tenant, name, afterPosition, maxCount} = validateListParked(request, limits);
      return groupsOf().listParked(tenant, name, afterPosition, maxCount);
    },

    async replayParkedEvents(request) {
      const {tenant, name} = validateGroupRef(request, request.group, 'group', limits);
      const v = Violations();
      const upTo = checkSequence(v, 'up_to_position', request.upToPosition);
      v.done();
      return {replaying: BigInt(await groupsOf().replay(tenant, name, upTo))};
    },

    async *consume(requests, context): AsyncGenerator<ServerConsumeResponse> {
      const incoming = requests[Symbol.asyncIterator]();
      const first = await incoming.next();
      if (first.done === true) return;
      const join = validateConsumeJoin(first.value, limits);
      const host = await groupsOf().host(join.tenant, join.group);
      const session = ConsumerSession(host, join);
      yield {content: {$case: 'joined', value: {consumerId: session.consumer.id, group: toProtoGroup(host.definition)}}};
      void (async () => {
        for (;;) {
          const next: IteratorResult<ConsumeRequest> = await incoming.next();
          if (next.done === true) break;
          session.handle(validateConsumeMessage(next.value));
          await session.room();
        }
        session.end();
      })().catch((error: unknown) => session.end(error instanceof Error ? error : new Error(String(error))));
      yield* session.messages(context.signal);
    },
  };
}
