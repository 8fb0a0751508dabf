import type {ConsumerGroupDefinition} from './consumerGroupLedger.js';

/** A group definition as JSON text, the form both backends store. */
export function groupDefinitionToJson(group: ConsumerGroupDefinition): string {
  return JSON.stringify({
    ...group,
    createdAt: group.createdAt.toISOString(),
    replayRequestedAt: group.replayRequestedAt?.toISOString(),
  });
}

/** A group definition back from {@link groupDefinitionToJson}'s text (or its parsed object). */
export function groupDefinitionFromJson(json: string | object): ConsumerGroupDefinition {
  const raw = (typeof json === 'string' ? JSON.parse(json) : json) as Omit<ConsumerGroupDefinition, 'createdAt' | 'replayRequestedAt'> & {
    createdAt: string;
    replayRequestedAt?: string;
    stream?: string;
    filter?: ConsumerGroupDefinition['filter'];
  };
  return {
    tenant: raw.tenant,
    name: raw.name,
    stream: raw.stream,
    filter: raw.filter,
    orderingKey: raw.orderingKey,
    partitions: raw.partitions,
    startAfter: raw.startAfter,
    settings: {...raw.settings},
    createdAt: new Date(raw.createdAt),
    replayRequestedAt: raw.replayRequestedAt === undefined ? undefined : new Date(raw.replayRequestedAt),
    replayUpTo: raw.replayUpTo ?? 0,
  };
}
