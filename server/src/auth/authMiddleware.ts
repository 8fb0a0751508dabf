import {ServerError, Status, type ServerMiddleware} from 'nice-grpc';
import type {KeyRing, Principal, Role} from './apiKeys.js';

/** The services that need a key: the store's and the consumer groups'. */
const SERVICE_PREFIXES = ['/edupulse.eventstore.v1.EventStoreService/', '/edupulse.eventstore.v1.ConsumerGroupService/'];
/** The role each RPC needs; every other RPC of the services needs `read`. */
const REQUIRED_ROLE: Record<string, Role> = {
  Append: 'write',
  AppendSession: 'write',
  CreateConsumerGroup: 'write',
  UpdateConsumerGroup: 'write',
  DeleteConsumerGroup: 'write',
  ReplayParkedEvents: 'write',
  SetStreamRetention: 'write',
  DeleteStream: 'write',
  EraseDataSubject: 'admin',
  ListTenants: 'admin',
};

/** A message of a client stream: an append session's appends, or a consumer's join. */
type StreamedRequest = {appends?: Array<{append?: {tenant?: string}}>; join?: {tenant?: string}};
const RANK: Record<Role, number> = {read: 0, write: 1, admin: 2};
const DEFAULT_TENANT = 'default';

/** What the auth middleware adds to the call context. */
export type AuthContext = {principal?: Principal};

/**
 * Authenticates calls to the event store service with bearer API keys and
 * confines them to the key's tenant: the call's tenant comes from its key; a
 * request naming another tenant is PERMISSION_DENIED, as is a read key
 * appending. No key or an unknown key is UNAUTHENTICATED. Health and reflection
 * stay open. Subscriptions are checked once, when they start, like any call.
 */
export function authMiddleware(keys: KeyRing): ServerMiddleware<AuthContext> {
  return async function* authenticate(call, context) {
    const service = SERVICE_PREFIXES.find(prefix => call.method.path.startsWith(prefix));
    if (service === undefined) return yield* call.next(call.request, context);
    const header = context.metadata.get('authorization');
    const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    if (match === null) {
      throw new ServerError(Status.UNAUTHENTICATED, 'this server needs an API key: send metadata "authorization: Bearer <key>"');
    }
    const principal = keys.authenticate(match[1]!);
    if (principal === undefined) throw new ServerError(Status.UNAUTHENTICATED, 'unknown API key');

    const rpc = call.method.path.slice(service.length);
    // A sealed read carries wrapped keys: for exports, by an admin.
    const sealedRead = rpc === 'ReadLog' && (call.request as {sealed?: unknown}).sealed === true;
    const required = sealedRead ? 'admin' : (REQUIRED_ROLE[rpc] ?? 'read');
    if (RANK[principal.role] < RANK[required]) {
      throw new ServerError(
        Status.PERMISSION_DENIED,
        `API key "${principal.keyId}" has role ${principal.role}; ${sealedRead ? 'a sealed ReadLog' : rpc} needs ${required}`,
      );
    }
    // Listing tenants names them all: for a key of every tenant.
    if (rpc === 'ListTenants') {
      if (principal.tenant !== '*') {
        throw new ServerError(
          Status.PERMISSION_DENIED,
          `API key "${principal.keyId}" grants tenant "${principal.tenant}"; ListTenants needs an admin key of every tenant ("*")`,
        );
      }
      return yield* call.next(call.request, {...context, principal});
    }
    if (call.method.requestStream) {
      // An append session's appends and a consumer's join are confined to the key's tenant.
      const messages = call.request as AsyncIterable<StreamedRequest>;
      const confined = (async function* () {
        for await (const message of messages) {
          const {appends, join} = message;
          yield {
            ...message,
            ...(appends === undefined
              ? {}
              : {appends: appends.map(a => ({...a, append: {...(a.append ?? {}), tenant: tenantFor(principal, a.append?.tenant ?? '')}}))}),
            ...(join === undefined ? {} : {join: {...join, tenant: tenantFor(principal, join.tenant ?? '')}}),
          };
        }
      })();
      return yield* call.next(confined as typeof call.request, {...context, principal});
    }
    const request = call.request as {tenant?: unknown};
    const tenant = tenantFor(principal, typeof request.tenant === 'string' ? request.tenant : '');
    return yield* call.next({...(call.request as object), tenant} as typeof call.request, {...context, principal});
  };
}

/** The tenant a call of `principal` acts in, given the tenant it asked for; PERMISSION_DENIED when not granted. */
function tenantFor(principal: Principal, asked: string): string {
  if (principal.tenant === '*') return asked === '' ? DEFAULT_TENANT : asked;
  if (asked === '' || asked === principal.tenant) return principal.tenant;
  throw new ServerError(Status.PERMISSION_DENIED, `API key "${principal.keyId}" grants tenant "${principal.tenant}", not "${asked}"`);
}
