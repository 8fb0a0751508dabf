import type {AppendResponse} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import type {AppendResult} from '../engine/types.js';

/** An append's result as the wire carries it (Append and AppendSession alike). */
export function toAppendResponse(result: AppendResult): AppendResponse {
  return {
    firstPosition: BigInt(result.firstPosition),
    lastPosition: BigInt(result.lastPosition),
    firstRevision: BigInt(result.firstRevision),
    lastRevision: BigInt(result.lastRevision),
    deduplicated: result.deduplicated,
  };
}
