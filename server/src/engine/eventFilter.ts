/** A server-side selection of events by stream and type (see `EventFilter` in the proto). */
export type EventSelection = {
  streams: readonly string[];
  streamPrefixes: readonly string[];
  eventTypes: readonly string[];
  eventTypePrefixes: readonly string[];
};

/** A compiled selection over an event's stream and type; undefined stands for "everything". */
export type EventPredicate = ((event: {stream: string; type: string}) => boolean) | undefined;

/** Compiles a selection into a predicate, or undefined when it selects everything. */
export function compileEventSelection(selection: EventSelection | undefined): EventPredicate {
  if (selection === undefined) return undefined;
  const streams = new Set(selection.streams);
  const types = new Set(selection.eventTypes);
  const {streamPrefixes, eventTypePrefixes} = selection;
  const anyStream = streams.size === 0 && streamPrefixes.length === 0;
  const anyType = types.size === 0 && eventTypePrefixes.length === 0;
  if (anyStream && anyType) return undefined;
  return event =>
    (anyStream || streams.has(event.stream) || streamPrefixes.some(p => event.stream.startsWith(p))) &&
    (anyType || types.has(event.type) || eventTypePrefixes.some(p => event.type.startsWith(p)));
}
