import type {SubscriptionMessage} from '../engine/eventStore.js';
import type {ServerSubscribeResponse} from './serverDefinition.js';

/**
 * The wire form of what a subscription yields. Event batches pass as they
 * are (the serializer writes their stored bytes); markers become the
 * SubscribeResponse the proto defines.
 */
export function toSubscribeResponse(message: SubscriptionMessage): ServerSubscribeResponse {
  switch (message.kind) {
    case 'events':
    case 'framed':
      return message;
    case 'heartbeat':
      return {content: {$case: 'heartbeat', value: {serverTime: message.serverTime, position: BigInt(message.position)}}};
    default:
      return {content: {$case: message.kind, value: {position: BigInt(message.position)}}};
  }
}
