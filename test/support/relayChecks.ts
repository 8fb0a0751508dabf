import {expect} from 'vitest';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';
import type {EventStoreServiceClient} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event_store_service.js';
import {jsonEvent} from './events.js';
import type {RelayedMessage} from './jetStream.js';

/** Every event of `tenant`'s log as the store holds it, in position order. */
export async function logOf(client: EventStoreServiceClient, tenant: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let from = 1n;
  for (;;) {
    const page = await client.readLog({tenant, direction: 0, fromPosition: from, maxCount: 1000});
    events.push(...page.events);
    if (page.nextPosition === undefined) return events;
    from = page.nextPosition;
  }
}

/**
 * Checks that JetStream holds exactly the tenants' logs: per tenant every
 * event once, in position order, on its subject, with its headers, its
 * payload the stored RecordedEvent.
 */
export function expectRelayedExactly(messages: RelayedMessage[], logs: Map<string, RecordedEvent[]>, prefix = 'edupulse.events'): void {
  const byTenant = new Map<string, RelayedMessage[]>();
  for (const m of messages) {
    const tenant = m.headers['EduPulse-Tenant']!;
    byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), m]);
  }
  expect([...byTenant.keys()].sort()).toEqual([...logs.keys()].filter(t => logs.get(t)!.length > 0).sort());
  for (const [tenant, log] of logs) {
    const relayed = byTenant.get(tenant) ?? [];
    expect(
      relayed.map(m => Number(m.headers['EduPulse-Position'])),
      `positions of ${tenant}`,
    ).toEqual(log.map(e => Number(e.position)));
    for (const [i, m] of relayed.entries()) {
      const event = log[i]!;
      const decoded = RecordedEvent.decode(m.data);
      // Personal events go out without their data and metadata (the relay's default, withhold).
      const published = event.containsPersonalData ? {...event, data: new Uint8Array(0), metadata: {}} : event;
      expect({...decoded, data: Buffer.from(decoded.data)}).toEqual({...published, data: Buffer.from(published.data)});
      expect(m.headers['EduPulse-Personal-Data-Withheld']).toBe(event.containsPersonalData ? 'true' : undefined);
      expect(m.headers['EduPulse-Data-Subject-Id']).toBe(event.containsPersonalData ? event.dataSubjectId : undefined);
      expect(m.subject).toBe(`${prefix}.${tenant}.${event.type.replaceAll('.', '%2E')}`);
      expect(m.headers['Nats-Msg-Id']).toBe(`${tenant}:${event.position}`);
      expect(m.headers['EduPulse-Stream']).toBe(event.stream);
      expect(m.headers['EduPulse-Revision']).toBe(String(event.revision));
      expect(m.headers['EduPulse-Event-Id']).toBe(event.eventId);
      expect(m.headers['EduPulse-Event-Type']).toBe(event.type);
      expect(m.headers['EduPulse-Personal-Data']).toBe(String(event.containsPersonalData));
      expect(m.headers['EduPulse-Correlation-Id']).toBe(event.correlationId === '' ? undefined : event.correlationId);
    }
  }
}

/** Appends `perTenant` events to each tenant, in appends of `batch`, the tenants at once. */
export async function appendAcross(client: EventStoreServiceClient, tenants: string[], perTenant: number, batch: number): Promise<void> {
  await Promise.all(
    tenants.map(async (tenant, t) => {
      for (let i = 0; i < perTenant; i += batch) {
        const events = Array.from({length: Math.min(batch, perTenant - i)}, (_, j) =>
          jsonEvent(
            j % 3 === 0 ? 'lesson.started' : 'LessonEnded',
            {i: i + j},
            {
              correlationId: j % 2 === 0 ? `corr-${i + j}` : '',
              containsPersonalData: j % 5 === 0,
              dataSubjectId: j % 5 === 0 ? `learner-${(i + j) % 11}` : '',
            },
          ),
        );
        await client.append({tenant, stream: `course-${(i / batch) % 7}-${t}`, events, expectedRevision: undefined});
      }
    }),
  );
}
