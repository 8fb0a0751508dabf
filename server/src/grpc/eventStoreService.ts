import type {ServiceImplementation} from 'nice-grpc';
import type {Logger} from 'pino';
import {oneMessageAhead} from './handoff.js';
import {toSubscribeResponse} from './subscribeResponse.js';
import {runAppendSession} from './appendSession.js';
import type {EventStoreServerDefinition} from './serverDefinition.js';
import type {Limits} from '../config/config.js';
import {toAppendResponse} from './appendResponse.js';
import type {EventStore} from '../engine/eventStore.js';
import {validateAppend, validateGetStreamInfo, validateReadLog, validateReadStream, validateSubscribe} from './validation.js';

/** The gRPC face of the engine: validate, call the engine, shape the response. */
export type EventStoreServiceImpl = ServiceImplementation<typeof EventStoreServerDefinition>;

/**
 * Creates the EventStoreService implementation. `storeOf` returns the open store,
 * or throws UNAVAILABLE while the server is still starting.
 */
export function EventStoreServiceImpl(storeOf: () => EventStore, limits: Limits, log: Logger): EventStoreServiceImpl {
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
      const {tenant, direction, fromPosition, maxCount, filter} = validateReadLog(request, limits);
      const page = await storeOf().readLog(tenant, direction, fromPosition, maxCount, filter);
      return {events: page.events, next: page.nextPosition, head: page.logPosition};
    },

    async getStreamInfo(request) {
      const {tenant, stream} = validateGetStreamInfo(request, limits);
      const info = await storeOf().streamInfo(tenant, stream);
      return {
        exists: info.revision !== undefined,
        revision: info.revision === undefined ? undefined : BigInt(info.revision),
        lastPosition: info.lastPosition === undefined ? undefined : BigInt(info.lastPosition),
        logPosition: BigInt(info.logPosition),
      };
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
