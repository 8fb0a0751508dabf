import pg from 'pg';
import type {Logger} from 'pino';
import {peekEventHeader} from '../../engine/encodedEvent.js';
import type {LiveEvent, LiveTenant} from '../../engine/liveTenant.js';
import {HEADS_CHANNEL} from './commitBackend.js';
import {CHANGES_CHANNEL} from './changesChannel.js';

/** Settings of the {@link LiveFeed}. */
export type LiveFeedOptions = {
  pool: pg.Pool;
  /** Connection settings of the listening connection (the pool's). */
  connection: pg.ClientConfig;
  /** How often every loaded tenant's head is read again, whatever the hints say. */
  pollIntervalMs: number;
  logger: Logger;
  /** Told when the listening connection is lost (false) and back (true): whether the database answers. */
  onAvailability(up: boolean): void;
  /** Told each announcement on CHANGES_CHANNEL (its payload), and undefined once listening (again): some may have been missed. */
  onChange?(payload: string | undefined): void;
};

/**
 * Feeds each loaded tenant's live state with every commit, this server's and
 * other servers', in position order and once.
 *
 * A commit here hands its events over directly. Other servers' commits are
 * read from the database: after each hint on {@link HEADS_CHANNEL} (LISTEN),
 * after the listening connection reconnects (hints sent meanwhile are lost),
 * and on a slow timer. Hints are never trusted beyond "read again": what is
 * published is what the table holds, and a tenant's commits are visible in
 * position order (commits hold its head row), so reading after the live head
 * never skips one. A tenant without subscribers only moves its head.
 */
export type LiveFeed = {
  /** A tenant was loaded: feed it. */
  track(live: LiveTenant): void;
  /** A tenant was unloaded. */
  forget(tenant: string): void;
  /** This server committed `events` (consecutive, in position order) to `live`'s tenant. */
  committed(live: LiveTenant, events: LiveEvent[]): void;
  /** Stops listening and polling. */
  close(): Promise<void>;
};

type Fed = {
  live: LiveTenant;
  /** The head to reach: the highest position known to be committed. */
  target: number;
  /** This server's commits not yet published, in position order. */
  local: LiveEvent[][];
  running: Promise<void> | undefined;
};

/** Events one read of the feed brings at most. */
const FEED_READ = 256;

/** Starts listening; a lost connection is retried with backoff for as long as the feed runs. */
export function LiveFeed(options: LiveFeedOptions): LiveFeed {
  const {pool, logger} = options;
  const fed = new Map<string, Fed>();
  let closed = false;
  let listener: pg.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let backoffMs = 100;

  function advance(state: Fed, target: number): void {
    if (target > state.target) state.target = target;
    if (state.live.head() >= state.target || state.running !== undefined) return;
    state.running = catchUp(state)
      .catch((error: unknown) =>
        logger.debug({err: error, tenant: state.live.tenant}, 'live feed read failed; the next hint or poll retries'),
      )
      .finally(() => {
        state.running = undefined;
        // A hint may have come while the read ran.
        if (state.live.head() < state.target && fed.get(state.live.tenant) === state) advance(state, state.target);
      });
  }

  /** Publishes what lies between the live head and the target: this server's commits as they are, the rest read. */
  async function catchUp(state: Fed): Promise<void> {
    const {live} = state;
    while (live.head() < state.target) {
      const head = live.head();
      while (state.local.length > 0 && state.local[0]!.at(-1)!.position <= head) state.local.shift();
      const local = state.local[0];
      if (local !== undefined && local[0]!.position <= head + 1) {
        state.local.shift();
        live.publish(local.filter(e => e.position > head));
        continue;
      }
      const upTo = Math.min(state.target, (local?.[0]!.position ?? Infinity) - 1);
      if (live.idleTo(upTo)) continue;
      const {rows} = await pool.query<{record: Buffer}>(
        'SELECT record FROM edupulse_events WHERE tenant = $1 AND position > $2 AND position <= $3 ORDER BY position LIMIT $4',
        [live.tenant, head, upTo, FEED_READ],
      );
      // The tenant may have been unloaded, or another read may have published, meanwhile.
      if (live.head() !== head) continue;
      const events: LiveEvent[] = rows.map(({record}) => ({
        ...peekEventHeader(record),
        encoded: record,
        size: record.byteLength + 200,
      }));
      if (events.length === 0 || events[0]!.position !== head + 1) {
        throw new Error(`the log of tenant "${live.tenant}" has no event at position ${head + 1} below ${upTo}`);
      }
      live.publish(events);
    }
  }

  async function pollAll(): Promise<void> {
    if (fed.size === 0) return;
    const {rows} = await pool.query<{tenant: string; head: string}>(
      'SELECT tenant, head FROM edupulse_tenants WHERE tenant = ANY($1::text[])',
      [[...fed.keys()]],
    );
    for (const {tenant, head} of rows) {
      const state = fed.get(tenant);
      if (state !== undefined) advance(state, Number(head));
    }
  }

  const poller = setInterval(() => {
    pollAll().catch((error: unknown) => logger.debug({err: error}, 'live feed poll failed'));
  }, options.pollIntervalMs);
  poller.unref();

  function onHint(message: pg.Notification): void {
    const payload = message.payload ?? '';
    const space = payload.indexOf(' ');
    const state = fed.get(payload.slice(space + 1));
    if (state !== undefined) advance(state, Number(payload.slice(0, space)));
  }

  function listen(): void {
    retryTimer = undefined;
    if (closed) return;
    const client = new pg.Client(options.connection);
    let lost = false;
    const onLost = (error?: Error): void => {
      if (lost) return;
      lost = true;
      if (listener === client) listener = undefined;
      client.end().catch(() => undefined);
      if (closed) return;
      options.onAvailability(false);
      logger.warn({err: error, retryInMs: backoffMs}, 'lost the PostgreSQL connection that listens for commits; reconnecting');
      retryTimer = setTimeout(listen, backoffMs);
      backoffMs = Math.min(backoffMs * 2, 5000);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', message => {
      if (message.channel === HEADS_CHANNEL) onHint(message);
      else options.onChange?.(message.payload);
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${HEADS_CHANNEL}; LISTEN ${CHANGES_CHANNEL}`))
      .then(async () => {
        if (lost || closed) return;
        listener = client;
        backoffMs = 100;
        // Changes announced while no connection listened are lost too.
        options.onChange?.(undefined);
        // Hints sent while no connection listened are lost: read every head again.
        await pollAll();
        options.onAvailability(true);
      })
      .catch(onLost);
  }
  listen();

  return {
    track(live) {
      fed.set(live.tenant, {live, target: live.head(), local: [], running: undefined});
    },
    forget(tenant) {
      fed.delete(tenant);
    },
    committed(live, events) {
      const state = fed.get(live.tenant);
      if (state === undefined || state.live !== live) {
        live.publish(events);
        return;
      }
      state.local.push(events);
      advance(state, events.at(-1)!.position);
    },
    async close() {
      closed = true;
      clearInterval(poller);
      clearTimeout(retryTimer);
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}
