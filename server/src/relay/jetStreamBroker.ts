import {randomUUID} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {connect, headers as natsHeaders, type NatsConnection} from '@nats-io/transport-node';
import {JetStreamApiError, jetstreamManager, StorageType, type JetStreamManager} from '@nats-io/jetstream';
import type {EncodedEvent} from '../engine/encodedEvent.js';
import {brokerServers, type BrokerSettings} from './brokerSettings.js';
import {envelopeHeaders, HEADER, payloadOf, readEnvelope, withheldPersonalData} from './relayedMessage.js';
import {eventSubject, tenantSubjects} from './subjectNames.js';

/** The broker is set up in a way the relay cannot work with (a missing stream it may not create, wrong subjects). */
export class BrokerConfigurationError extends Error {
  override readonly name = 'BrokerConfigurationError';
}

/** JetStream refused a batch because the tenant's last message is not the one expected (or it holds the batch's events already): another relay published. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
}

/** JetStream refused a batch for another reason than the fence; the message says why. */
export class BatchRefusedError extends Error {
  override readonly name = 'BatchRefusedError';
}

/** What JetStream holds last for a tenant: its stream sequence and the store position it carries. */
export type LastRelayed = {seq: number; position: number | undefined};

/**
 * Refusals that mean JetStream's record of the tenant moved on without this
 * relay: a failed `Nats-Expected-Last-Subject-Sequence` check ("wrong last
 * sequence"), and a batch repeating a stored `Nats-Msg-Id` (checked first).
 */
const FENCED_CODES = new Set([10071, 10201]);

/** Bytes kept for a message's headers beside its payload, within NATS's max_payload. */
const HEADER_ROOM = 4096;

/** Most messages in one atomic batch (nats-server's limit). */
export const MAX_BATCH_EVENTS = 1000;

/** A connected broker: the JetStream calls the relay makes. */
export type Broker = {
  readonly connection: NatsConnection;
  /** The last message JetStream holds on `tenant`'s subjects, or undefined when it holds none. */
  lastRelayed(tenant: string): Promise<LastRelayed | undefined>;
  /**
   * Publishes `events` of `tenant` as one atomic batch, only if JetStream's
   * last message on the tenant's subjects is still `expectedSeq` (0: none);
   * resolves with the sequence of the batch's last message, its position, and the number of
   * events published: all of them, or those before the first one larger
   * than NATS takes (which throws when it comes first). Nothing of a refused
   * batch is stored.
   */
  publishBatch(
    tenant: string,
    events: readonly EncodedEvent[],
    expectedSeq: number,
  ): Promise<{seq: number; count: number; lastPosition: number}>;
  close(): Promise<void>;
};

/** Connects to the NATS servers of `settings` (one attempt); the connection then reconnects by itself. */
export async function connectBroker(settings: BrokerSettings, timeoutMs: number): Promise<NatsConnection> {
  const {servers, tls} = brokerServers(settings.url);
  return connect({
    servers,
    ...(settings.token === undefined ? {} : {token: settings.token}),
    ...(tls ? {tls: settings.tlsCaFile === undefined ? {} : {ca: readFileSync(settings.tlsCaFile, 'utf8')}} : {}),
    name: 'edupulse-event-store relay',
    timeout: timeoutMs,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    // Credentials refused twice end the connection; the relay then connects again after its backoff.
    ignoreAuthErrorAbort: false,
  });
}

/** JetStream answered 404: no such stream, or no such message. */
function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.status === 404;
}

/**
 * Makes sure the stream exists, captures `<prefix>.>` and allows atomic
 * batches: creates or updates it when the settings allow, else refuses with
 * {@link BrokerConfigurationError}.
 */
export async function ensureStream(jsm: JetStreamManager, settings: BrokerSettings): Promise<void> {
  const name = settings.streamName;
  const subjects = `${settings.subjectPrefix}.>`;
  let info;
  try {
    info = await jsm.streams.info(name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (!settings.createStream) {
      throw new BrokerConfigurationError(
        `JetStream has no stream "${name}", and --no-event-broker-create-stream forbids creating it: create it (subjects "${subjects}", file storage, allow_atomic) or let the relay do so`,
      );
    }
    await jsm.streams.add({
      name,
      subjects: [subjects],
      storage: StorageType.File,
      allow_atomic: true,
      duplicate_window: settings.duplicateWindowMs * 1_000_000,
    });
    return;
  }
  const covers = info.config.subjects?.some(s => s === subjects || s === '>' || s === `${settings.subjectPrefix.split('.')[0]}.>`);
  if (!covers) {
    throw new BrokerConfigurationError(
      `JetStream's stream "${name}" captures ${JSON.stringify(info.config.subjects ?? [])}, not "${subjects}": add that subject to it, or name another stream`,
    );
  }
  if (info.config.allow_atomic !== true) {
    if (!settings.createStream) {
      throw new BrokerConfigurationError(
        `JetStream's stream "${name}" does not allow atomic batches, which the relay publishes: set allow_atomic on it`,
      );
    }
    await jsm.streams.update(name, {allow_atomic: true});
  }
}

/** Opens the broker on a connection: checks the stream, then offers the relay's calls. */
export async function openBroker(connection: NatsConnection, settings: BrokerSettings, timeoutMs: number): Promise<Broker> {
  const jsm = await jetstreamManager(connection, {timeout: timeoutMs});
  await ensureStream(jsm, settings);
  const {streamName, subjectPrefix, format} = settings;
  const withhold = settings.personalData === 'withhold';
  return {
    connection,
    async lastRelayed(tenant) {
      try {
        const message = await jsm.streams.getMessage(streamName, {last_by_subj: tenantSubjects(subjectPrefix, tenant)});
        if (message === null) return undefined;
        const position = message.header?.get(HEADER.position);
        return {seq: message.seq, position: position === undefined || position === '' ? undefined : Number(position)};
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async publishBatch(tenant, events, expectedSeq) {
      const messages = events.map(encoded => {
        const envelope = readEnvelope(encoded);
        const withheld = withhold && envelope.containsPersonalData;
        const payload = payloadOf(withheld ? withheldPersonalData(encoded) : encoded, format);
        return {envelope, withheld, subject: eventSubject(subjectPrefix, tenant, envelope.type), payload};
      });
      // Checked before anything is sent: NATS cuts the connection of a client that sends more.
      const maxPayload = connection.info?.max_payload ?? 0;
      const fits = maxPayload === 0 ? messages.length : messages.findIndex(m => m.payload.byteLength + HEADER_ROOM > maxPayload);
      const count = fits === -1 ? messages.length : fits;
      if (count === 0) {
        const {envelope, payload} = messages[0] ?? {};
        if (envelope === undefined || payload === undefined) throw new Error('a batch holds at least one event');
        throw new BatchRefusedError(
          `the event at position ${envelope.position} of tenant "${tenant}" is ${payload.byteLength} bytes, more than the NATS server's max_payload of ${maxPayload} allows with its headers: raise max_payload (or lower --max-event-bytes)`,
        );
      }
      // One event goes as a plain publish (atomic by itself, and JetStream answers it sooner); more as an atomic batch.
      const batch = count === 1 ? undefined : randomUUID();
      let reply: Promise<{data: Uint8Array}> | undefined;
      for (let i = 0; i < count; i++) {
        const {envelope, withheld, subject, payload} = messages[i]!;
        const h = natsHeaders();
        h.set('Nats-Msg-Id', `${tenant}:${envelope.position}`);
        if (batch !== undefined) {
          h.set('Nats-Batch-Id', batch);
          h.set('Nats-Batch-Sequence', String(i + 1));
        }
        if (i === 0) {
          // The fence: JetStream stores the batch only if the tenant's last message is still the one this relay knows.
          h.set('Nats-Expected-Last-Subject-Sequence', String(expectedSeq));
          h.set('Nats-Expected-Last-Subject-Sequence-Subject', tenantSubjects(subjectPrefix, tenant));
        }
        for (const [name, value] of envelopeHeaders(envelope, format)) h.set(name, value);
        if (withheld) h.set(HEADER.personalDataWithheld, 'true');
        if (i === count - 1) {
          if (batch !== undefined) h.set('Nats-Batch-Commit', '1');
          reply = connection.request(subject, payload, {headers: h, timeout: timeoutMs});
        } else {
          connection.publish(subject, payload, {headers: h});
        }
      }
      const answer = JSON.parse(new TextDecoder().decode((await reply!).data)) as {
        seq?: number;
        count?: number;
        error?: {err_code?: number; description?: string};
      };
      if (answer.error !== undefined) {
        const text = `JetStream refused a batch of ${count} events of tenant "${tenant}": ${answer.error.description ?? 'no reason given'} (error ${answer.error.err_code})`;
        throw FENCED_CODES.has(answer.error.err_code ?? 0) ? new FencedError(text) : new BatchRefusedError(text);
      }
      if ((batch !== undefined && answer.count !== count) || typeof answer.seq !== 'number') {
        throw new BatchRefusedError(`JetStream answered a batch of ${count} events with ${JSON.stringify(answer)}`);
      }
      return {seq: answer.seq, count, lastPosition: messages[count - 1]!.envelope.position};
    },
    close: () => connection.close(),
  };
}
