/**
 * Backpressure for server streams, one message deep.
 *
 * nice-grpc writes each message of a server stream to grpc-js and waits for
 * `drain` only once grpc-js's queue is full, which is 16 messages. A subscriber
 * that stops reading would so keep 16 messages (up to 1 MiB of 64 KiB batches)
 * in server memory, and a thousand of them a gigabyte. Here a stream yields its
 * next message only once the transport has taken the previous one: grpc-js
 * serializes a message when it hands it to HTTP/2, which it does after the
 * message before it was written out. So each stream holds at most the message
 * being written and the one waiting behind it.
 */
type Handoff = {taken: boolean; wake: (() => void) | undefined};

/**
 * A message's handoff rides on the message itself, under a symbol: a WeakMap
 * from messages to handoffs cost a hash insert and a lookup for every message
 * of every stream.
 */
const HANDOFF = Symbol('handoff');
type Handed = {[HANDOFF]?: Handoff};

/** Called by the serializer: the transport has taken `message`. */
export function markTaken(message: object): void {
  const handoff = (message as Handed)[HANDOFF];
  if (handoff === undefined) return;
  handoff.taken = true;
  handoff.wake?.();
}

/**
 * Passes `messages` on as `toMessage` makes them, holding each back until the
 * one before it was taken (see {@link markTaken}); every message made must be
 * a distinct object, which gets the handoff as a symbol-keyed property. Ends
 * with the signal's reason when it aborts while waiting.
 */
export async function* oneMessageAhead<T, M extends object>(
  messages: AsyncIterable<T>,
  signal: AbortSignal,
  toMessage: (item: T) => M,
): AsyncGenerator<M, void, undefined> {
  for await (const item of messages) {
    const message = toMessage(item);
    const handoff: Handoff = {taken: false, wake: undefined};
    (message as Handed)[HANDOFF] = handoff;
    yield message;
    // Mostly taken already: grpc-js serializes at once when its queue is empty.
    if (!handoff.taken) await untilTaken(handoff, signal);
  }
}

function untilTaken(handoff: Handoff, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    handoff.wake = () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    signal.addEventListener('abort', onAbort, {once: true});
  });
}
