import {readFileSync} from 'node:fs';
import {ChannelCredentials} from '@grpc/grpc-js';
import {Option, type Command} from 'commander';
import {
  createEventStoreClient,
  domainEventJson,
  JSON_CONTENT_TYPE,
  parseJsonData,
  type EventStoreClient,
  type StoredEvent,
} from '../client/src/index.js';
import {RecordedEvent} from '@edupulse/event-store-protocol/gen/edupulse/eventstore/v1/event.js';

/** The flags of every client command. */
export type ConnectionFlags = {
  address: string;
  tenant?: string;
  apiKey?: string;
  tlsCa?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
};

/** Adds the options every client command shares: where the server is and who we are. */
export function withConnection(command: Command): Command {
  return command
    .addOption(new Option('--address <host:port>', 'server address').env('EDUPULSE_ADDRESS').default('127.0.0.1:50051'))
    .addOption(new Option('--tenant <tenant>', 'tenant (default: the key\'s, or "default")').env('EDUPULSE_TENANT'))
    .addOption(new Option('--api-key <key>', 'API key').env('EDUPULSE_API_KEY'))
    .addOption(new Option('--tls-ca <file>', 'CA certificate (PEM): connect with TLS').env('EDUPULSE_TLS_CA'))
    .addOption(new Option('--tls-client-cert <file>', 'client certificate (PEM), for mutual TLS').env('EDUPULSE_TLS_CLIENT_CERT'))
    .addOption(new Option('--tls-client-key <file>', 'client key (PEM), for mutual TLS').env('EDUPULSE_TLS_CLIENT_KEY'));
}

/** A client for the flags' server, tenant, key and TLS. */
export function connect(flags: ConnectionFlags): EventStoreClient {
  const credentials =
    flags.tlsCa === undefined
      ? undefined
      : ChannelCredentials.createSsl(
          readFileSync(flags.tlsCa),
          flags.tlsClientKey === undefined ? null : readFileSync(flags.tlsClientKey),
          flags.tlsClientCert === undefined ? null : readFileSync(flags.tlsClientCert),
        );
  return createEventStoreClient(flags.address, {
    ...(flags.tenant === undefined ? {} : {tenant: flags.tenant}),
    ...(flags.apiKey === undefined ? {} : {apiKey: flags.apiKey}),
    ...(credentials === undefined ? {} : {credentials}),
  });
}

/** Prints one JSON line on standard output. */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * One recorded event as a JSON line: the proto3 JSON mapping, as grpcurl and
 * every language print it, with its revision and position always there (the
 * mapping leaves out zeros, so revision 0 would go missing). With `decode`,
 * `data` is the payload itself rather than base64: the JSON of a JSON event,
 * the proto3 JSON of a platform event in protobuf; other payloads stay base64.
 */
export function eventLine(event: RecordedEvent | StoredEvent, decode = false): unknown {
  const line = {
    ...(RecordedEvent.toJSON(event) as Record<string, unknown>),
    revision: String(event.revision),
    position: String(event.position),
  };
  if (!decode || event.data.byteLength === 0) return line;
  if ('domain' in event && event.domain !== undefined) return {...line, data: domainEventJson(event.domain)};
  if (event.contentType.split(';')[0]!.trim().toLowerCase() !== JSON_CONTENT_TYPE) return line;
  try {
    return {...line, data: parseJsonData(event)};
  } catch {
    return line;
  }
}
