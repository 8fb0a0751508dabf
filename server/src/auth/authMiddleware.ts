import {ServerError, Status, type ServerMiddleware} from 'nice-grpc';
import type {KeyRing, Principal, Role} from './apiKeys.js';

const SERVICE_PREFIX = '/edupulse.eventstore.v1.EventStoreService/';
/** The role each RPC needs; every other RPC of the service needs `read`. */
const REQUIRED_ROLE: Record<string, Role> = {Append: 'write'};
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
    if (!call.method.path.startsWith(SERVICE_PREFIX)) return yield* call.next(call.request, context);
    const header = context.metadata.get('authorization');
    const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    if (match === null) {
      throw new ServerError(Status.UNAUTHENTICATED, 'this server needs an API key: send metadata "authorization: Bearer <key>"');
    }
    const principal = keys.authenticate(match[1]!);
    if (principal === undefined) throw new ServerError(Status.UNAUTHENTICATED, 'unknown API key');

    const rpc = call.method.path.slice(SERVICE_PREFIX.length);
    const required = REQUIRED_ROLE[rpc] ?? 'read';
    if (RANK[principal.role] < RANK[required]) {
      throw new ServerError(
        Status.PERMISSION_DENIED,
        `API key "${principal.keyId}" has role ${principal.role}; ${rpc} needs ${required}`,
      );
    }
    const request = call.request as {tenant?: unknown};
    const asked = typeof request.tenant === 'string' ? request.tenant : '';
    let tenant: string;
    if (principal.tenant === '*') {
      tenant = asked === '' ? DEFAULT_TENANT : asked;
    } else if (asked === '' || asked === principal.tenant) {
      tenant = principal.tenant;
    } else {
      throw new ServerError(
        Status.PERMISSION_DENIED,
        `API key "${principal.keyId}" grants tenant "${principal.tenant}", not "${asked}"`,
      );
    }
    return yield* call.next({...(call.request as object), tenant} as typeof call.request, {...context, principal});
  };
}
