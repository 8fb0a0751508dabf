import type {ServiceImplementation} from 'nice-grpc';
import type {Logger} from 'pino';
import {oneMessageAhead} from './handoff.js';
import {toSubscribeResponse} from './subscribeResponse.js';
import {runAppendSession} from './appendSession.js';
import type {EventStoreServerDefinition} from './serverDefinition.js';
import type {Limits} from '../config/config.js';
import {toAppendResponse} from './appendResponse.js';
import type {EventStore} from '../engine/eventStore.js';
import type {Lifecycle} from '../lifecycle/lifecycleStore.js';
import type {AuthContext} from '../auth/authMiddleware.js';
import {
  validateAppend,
  validateDeleteStream,
  validateEraseDataSubject,
  validateGetStreamInfo,
  validateListTenants,
  validateReadLog,
  validateReadStream,
  validateSetStreamRetention,
  validateSubscribe,
} from './validation.js';

/** The gRPC face of the engine: validate, call the engine, shape the response. */
export type EventStoreServiceImpl = ServiceImplementation<typeof EventStoreServerDefinition>;

/**
 * Creates the EventStoreService implementation. `lifecycleOf` returns the
 * open store's lifecycle (its `store` is the store every call uses), or
 * throws UNAVAILABLE while the server is still starting.
 */
export function EventStoreServiceImpl(lifecycleOf: () => Lifecycle, limits: Limits, log: Logger): EventStoreServiceImpl {
  const storeOf = (): EventStore => lifecycleOf().store;
  return {
    async append(request) {
      return toAppendResponse(await storeOf().append(validateAppend(request, limits)));
    },

    async readStream(request) {
      const {tenant, stream, direction, fromRevision, maxCount} = validateReadStream(request, limits);
      const page = await storeOf().readStream(tenant, stream, direction, fromRevision, maxCount);
      return {events: page.events, next: page.nextRevision, head: page.streamRevision};
    },

    async readLog(request) {
      const {tenant, direction, fromPosition, maxCount, filter, sealed} = validateReadLog(request, limits);
      const page = sealed
        ? await lifecycleOf().readLogSealed(tenant, direction, fromPosition, maxCount, filter)
        : await storeOf().readLog(tenant, direction, fromPosition, maxCount, filter);
      return {events: page.events, next: page.nextPosition, head: page.logPosition};
    },

    async getStreamInfo(request) {
      const {tenant, stream} = validateGetStreamInfo(request, limits);
      const info = await lifecycleOf().streamState(tenant, stream);
      const retention = info.settings?.retention;
      const hasRetention = retention !== undefined && Object.values(retention).some(value => value !== undefined);
      return {
        exists: info.revision !== undefined && !info.deleted && !info.tombstoned,
        revision: info.revision === undefined ? undefined : BigInt(info.revision),
        lastPosition: info.lastPosition === undefined ? undefined : BigInt(info.lastPosition),
        logPosition: BigInt(info.logPosition),
        retention: hasRetention
          ? {
              maxCount: retention.maxCount === undefined ? undefined : BigInt(retention.maxCount),
              maxAgeSeconds: retention.maxAgeMs === undefined ? undefined : BigInt(retention.maxAgeMs / 1000),
              truncateBefore: retention.truncateBefore === undefined ? undefined : BigInt(retention.truncateBefore),
            }
          : undefined,
        deleted: info.deleted,
        tombstoned: info.tombstoned,
      };
    },

    async listTenants(request) {
      const {after, maxCount} = validateListTenants(request, limits);
      // One more than asked says whether there is a next page.
      const names = await storeOf().tenantNames(after, maxCount + 1);
      const page = names.slice(0, maxCount);
      const heads = await Promise.all(page.map(tenant => storeOf().logHead(tenant)));
      return {
        tenants: page.map((tenant, i) => ({tenant, logPosition: BigInt(heads[i]!)})),
        nextAfter: names.length > maxCount ? page[page.length - 1] : undefined,
      };
    },

    async eraseDataSubject(request, context) {
      const {tenant, subject} = validateEraseDataSubject(request, limits);
      // The API key that asked, when keys are on (authMiddleware.ts adds it to the context).
      const erasedBy = (context as AuthContext).principal?.keyId ?? '';
      const {position, keyDestroyed} = await lifecycleOf().eraseDataSubject(tenant, subject, erasedBy);
      return {position: BigInt(position), keyDestroyed};
    },

    async setStreamRetention(request) {
      const {tenant, stream, retention} = validateSetStreamRetention(request, limits);
      await lifecycleOf().setStreamRetention(tenant, stream, retention);
      return {};
    },

    async deleteStream(request) {
      const {tenant, stream, expected, tombstone} = validateDeleteStream(request, limits);
      const {revision} = await lifecycleOf().deleteStream(tenant, stream, expected, tombstone);
      return {revision: revision === undefined ? undefined : BigInt(revision)};
    },

    async *appendSession(requests, context) {
      yield* runAppendSession(requests, storeOf, limits, log, context.signal);
    },

    // Not a generator of its own: one layer less for every message of every
    // subscription (nice-grpc's handler turns a throw here into the call's error).
    subscribe(request, context) {
      return oneMessageAhead(storeOf().subscribe(validateSubscribe(request, limits), context.signal), context.signal, toSubscribeResponse);
    },
  };
}
