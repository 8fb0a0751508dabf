import {createServer as createHttpServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {registry as grpcRegistry} from 'nice-grpc-prometheus';
import {Counter, Gauge, Histogram, Registry, collectDefaultMetrics} from 'prom-client';
import type {CommitObservation} from '../backends/leveldb/appendWriter.js';
import type {EventStoreStats} from '../engine/eventStore.js';
import type {RelayStatus} from '../relay/eventRelay.js';
import {INDEX_BACKLOG_BYTES} from '../backends/leveldb/indexWriter.js';
import {memoryTrims} from '../runtime/memoryTrimmer.js';

/** The store's Prometheus metrics. */
export type StoreMetrics = {
  /** Everything exported: the store's, nice-grpc's per-RPC metrics and the process's. */
  readonly registry: Registry;
  /** Feed for the engine's commit observations. */
  onCommit(observation: CommitObservation): void;
  /** Serves `GET /metrics` on host:port; resolves with the port it got. */
  listen(host: string, port: number): Promise<{port: number; close(): Promise<void>}>;
};

/** Creates the metrics of one server; `stats` and `relayStatus` (undefined without a relay) are read at each scrape. */
export function StoreMetrics(
  stats: () => EventStoreStats,
  relayStatus: () => Promise<RelayStatus> | undefined = () => undefined,
  groupStatus: () => Promise<GroupStatus[]> = () => Promise.resolve([]),
  lifecycleStatus: () => LifecycleStatus = () => ({erasures: new Map(), removedEvents: new Map()}),
): StoreMetrics {
  const own = new Registry();
  collectDefaultMetrics({register: own});
  const eventsAppended = new Counter({
    name: 'edupulse_events_appended_total',
    help: 'Events written by appends (retries that were deduplicated write none).',
    labelNames: ['tenant'],
    registers: [own],
  });
  const bytesAppended = new Counter({
    name: 'edupulse_event_bytes_appended_total',
    help: 'Bytes of event data written by appends.',
    labelNames: ['tenant'],
    registers: [own],
  });
  const commitAppends = new Histogram({
    name: 'edupulse_group_commit_appends',
    help: 'Appends per group commit (one batch of pages, one fsync; one batch of index entries).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [own],
  });
  const commitEvents = new Histogram({
    name: 'edupulse_group_commit_events',
    help: 'Events per group commit.',
    buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384],
    registers: [own],
  });
  const commitSeconds = new Histogram({
    name: 'edupulse_commit_write_seconds',
    help: "Time to write one group commit's log pages to LevelDB, fsync included when it is on (its index batch follows after the acknowledgement).",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [own],
  });
  new Gauge({
    name: 'edupulse_subscriptions_active',
    help: 'Subscriptions running now.',
    labelNames: ['tenant'],
    registers: [own],
    collect() {
      this.reset();
      for (const s of stats().subscriptions) this.inc({tenant: s.tenant});
    },
  });
  new Gauge({
    name: 'edupulse_subscriber_lag_events',
    help: 'Events the furthest-behind subscriber of a tenant has yet to receive.',
    labelNames: ['tenant'],
    registers: [own],
    collect() {
      this.reset();
      const worst = new Map<string, number>();
      for (const s of stats().subscriptions) worst.set(s.tenant, Math.max(worst.get(s.tenant) ?? 0, s.lag));
      for (const [tenant, lag] of worst) this.set({tenant}, lag);
    },
  });
  new Counter({
    name: 'edupulse_subscriptions_fell_behind_total',
    help: 'Times a subscription fell behind the live buffer and went back to reading from disk.',
    labelNames: ['tenant'],
    registers: [own],
    collect() {
      // The engine keeps the totals; the exported counter is set from them at each scrape.
      this.reset();
      for (const [tenant, times] of stats().fellBehind) this.inc({tenant}, times);
    },
  });
  new Counter({
    name: 'edupulse_memory_trims_total',
    help: 'Times freed memory was given back to the operating system after a full garbage collection (glibc only).',
    registers: [own],
    collect() {
      this.reset();
      this.inc(memoryTrims().count);
    },
  });
  new Counter({
    name: 'edupulse_memory_trim_seconds_total',
    help: 'Seconds spent giving freed memory back, on a worker thread.',
    registers: [own],
    collect() {
      this.reset();
      this.inc(memoryTrims().seconds);
    },
  });
  new Gauge({
    name: 'edupulse_live_buffer_bytes',
    help: 'Bytes the live buffers of all tenants hold for live subscribers (bounded by --live-buffer-total-bytes).',
    registers: [own],
    collect() {
      this.set(stats().liveBufferBytes);
    },
  });
  new Gauge({
    name: 'edupulse_subscription_memory_bytes',
    help: 'Bytes granted to running subscriptions for their messages and reads: --subscription-memory-bytes shared among them, and at least 64 KiB each.',
    registers: [own],
    collect() {
      this.set(stats().subscriptionMemoryBytes);
    },
  });
  new Gauge({
    name: 'edupulse_index_backlog_bytes',
    help: `Bytes of index entries queued behind the log and not yet written. At ${INDEX_BACKLOG_BYTES / 2 ** 20} MiB appends wait for the indexes to catch up.`,
    registers: [own],
    collect() {
      this.set(stats().indexBacklogBytes);
    },
  });
  new Gauge({
    name: 'edupulse_tenants_loaded',
    help: 'Tenants whose state the server holds (about 1.5 KiB each): those in use (an append on its way, a subscription) and up to --max-loaded-tenants idle ones; reads alone load none.',
    registers: [own],
    collect() {
      this.set(stats().tenantsLoaded);
    },
  });
  new Gauge({
    name: 'edupulse_storage_files',
    help: "LevelDB's table files per level, of the log's database and the indexes'. From 8 at level 0 LevelDB slows writes, at 12 it holds them until its compaction catches up.",
    labelNames: ['database', 'level'],
    registers: [own],
    collect() {
      this.reset();
      for (const {database, files} of stats().storageFiles) {
        for (const [level, count] of files.entries()) this.set({database, level: String(level)}, count);
      }
    },
  });
  new Gauge({
    name: 'edupulse_database_connections',
    help: "The server's connections to PostgreSQL: open, idle, and requests waiting for one (past --postgres-pool-size they wait). Absent on LevelDB.",
    labelNames: ['state'],
    registers: [own],
    collect() {
      this.reset();
      const connections = stats().storageConnections;
      if (connections === undefined) return;
      this.set({state: 'open'}, connections.open);
      this.set({state: 'idle'}, connections.idle);
      this.set({state: 'waiting'}, connections.waiting);
    },
  });
  new Gauge({
    name: 'edupulse_database_available',
    help: "1 while PostgreSQL answers the server's connection that listens for commits, 0 while it does not (health is NOT_SERVING then). Absent on LevelDB.",
    // A label, so that the gauge is absent (not 0, unavailable) on LevelDB.
    labelNames: ['database'],
    registers: [own],
    collect() {
      this.reset();
      const connections = stats().storageConnections;
      if (connections !== undefined) this.set({database: 'postgresql'}, connections.available ? 1 : 0);
    },
  });
  relayMetrics(own, relayStatus);
  groupMetrics(own, groupStatus);
  lifecycleMetrics(own, lifecycleStatus);
  const registry = Registry.merge([own, grpcRegistry]);

  return {
    registry,
    onCommit(o) {
      commitAppends.observe(o.appends);
      commitEvents.observe(o.events);
      commitSeconds.observe(o.seconds);
      for (const [tenant, {events, bytes}] of o.byTenant) {
        eventsAppended.inc({tenant}, events);
        bytesAppended.inc({tenant}, bytes);
      }
    },
    async listen(host, port) {
      const server: Server = createHttpServer((request, response) => {
        if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
          response.writeHead(404).end('metrics are at GET /metrics\n');
          return;
        }
        registry.metrics().then(
          body => response.writeHead(200, {'content-type': registry.contentType}).end(body),
          (error: unknown) => response.writeHead(500).end(String(error)),
        );
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      return {
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>(resolve => server.close(() => resolve())),
      };
    },
  };
}

/** What the consumer-group metrics read of each group loaded on this server. */
export type GroupStatus = {
  tenant: string;
  group: string;
  lagEvents: number;
  lagSeconds: number;
  consumers: number;
  inFlight: number;
  delivered: number;
  redelivered: number;
  parked: number;
  acked: number;
};

/** `read`, called at most once per scrape: what it gave in the last 100 ms is shared by every metric that asks. */
function oncePerScrape<T>(read: () => T): () => T {
  let last: {at: number; value: T} | undefined;
  return () => {
    const now = Date.now();
    if (last === undefined || now - last.at > 100) last = {at: now, value: read()};
    return last.value;
  };
}

/** What a metric of {@link rowMetric} shows: one sample per row, labelled and valued by the row. */
type RowMetric<R> = {
  name: string;
  help: string;
  labelNames: readonly string[];
  labelsOf(row: R): Record<string, string>;
  value(row: R): number;
};

/**
 * A gauge or counter with one sample per row that `rows` gives at scrape
 * time; a counter's sample is the row's running total.
 */
function rowMetric<R>(registry: Registry, kind: 'gauge' | 'counter', rows: () => Promise<readonly R[]>, metric: RowMetric<R>): void {
  const {name, help, labelNames, labelsOf, value} = metric;
  if (kind === 'gauge') {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await rows()) this.set(labelsOf(row), value(row));
      },
    });
  } else {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await rows()) this.inc(labelsOf(row), value(row));
      },
    });
  }
}

/** What the data lifecycle did since the server started: erasures and removed events, per tenant. */
export type LifecycleStatus = {erasures: ReadonlyMap<string, number>; removedEvents: ReadonlyMap<string, number>};

/** Erasures of data subjects and the background removal's work, per tenant: this server's totals. */
function lifecycleMetrics(registry: Registry, status: () => LifecycleStatus): void {
  const perTenant = (name: string, help: string, counts: (s: LifecycleStatus) => ReadonlyMap<string, number>): void =>
    rowMetric(registry, 'counter', () => Promise.resolve([...counts(status())]), {
      name,
      help,
      labelNames: ['tenant'],
      labelsOf: ([tenant]) => ({tenant}),
      value: ([, count]) => count,
    });
  perTenant('edupulse_data_subjects_erased_total', 'Data subjects erased (EraseDataSubject) through this server.', s => s.erasures);
  perTenant(
    'edupulse_events_removed_total',
    "Events that streams' retention or deletion hid and that this server's background removal took out of storage.",
    s => s.removedEvents,
  );
}

/**
 * Consumer groups' metrics, per group loaded on this server (one with
 * consumers here, or left by them in the last seconds). A scrape reads the
 * groups' status once. Counters are this server's totals.
 */
function groupMetrics(registry: Registry, groupStatus: () => Promise<GroupStatus[]>): void {
  const rows = oncePerScrape(groupStatus);
  const metric = (kind: 'gauge' | 'counter', name: string, help: string, value: (g: GroupStatus) => number): void =>
    rowMetric(registry, kind, rows, {
      name,
      help,
      labelNames: ['tenant', 'group'],
      labelsOf: g => ({tenant: g.tenant, group: g.group}),
      value,
    });
  metric(
    'gauge',
    'edupulse_consumer_group_lag_events',
    "Log positions between the group's checkpoint (its parts held here) and the log's head.",
    g => g.lagEvents,
  );
  metric(
    'gauge',
    'edupulse_consumer_group_lag_seconds',
    "Age of the group's oldest unsettled event on this server (0 when none).",
    g => g.lagSeconds,
  );
  metric('gauge', 'edupulse_consumer_group_consumers', "The group's consumers connected to this server.", g => g.consumers);
  metric('gauge', 'edupulse_consumer_group_in_flight', "Events in flight to the group's consumers on this server.", g => g.inFlight);
  metric(
    'counter',
    'edupulse_consumer_group_delivered_total',
    'Deliveries to the consumers of the group, redeliveries included.',
    g => g.delivered,
  );
  metric(
    'counter',
    'edupulse_consumer_group_redelivered_total',
    'Deliveries of events delivered before (retries, timeouts, consumers gone).',
    g => g.redelivered,
  );
  metric('counter', 'edupulse_consumer_group_acked_total', 'Events the consumers of the group acknowledged.', g => g.acked);
  metric('counter', 'edupulse_consumer_group_parked_total', 'Events the group parked (after max attempts, or by a nack).', g => g.parked);
}

/**
 * The relay's metrics, per tenant this server relays; absent without a relay.
 * A scrape reads the relay's status once, whichever metric asks first. The
 * counters are the relay's own totals since this server took the tenant.
 */
function relayMetrics(registry: Registry, relayStatus: () => Promise<RelayStatus> | undefined): void {
  const current = oncePerScrape(relayStatus);
  type Tenant = RelayStatus['tenants'][number];
  const tenants = async (): Promise<readonly Tenant[]> => (await current())?.tenants ?? [];
  // The relay's own figures, one row while there is a relay.
  const relay = async (): Promise<readonly RelayStatus[]> => {
    const status = await current();
    return status === undefined ? [] : [status];
  };
  const perTenant = (kind: 'gauge' | 'counter', name: string, help: string, value: (t: Tenant) => number): void =>
    rowMetric(registry, kind, tenants, {name, help, labelNames: ['tenant'], labelsOf: t => ({tenant: t.tenant}), value});
  perTenant(
    'gauge',
    'edupulse_relay_lag_events',
    'Events of the tenant committed and not yet acknowledged by JetStream.',
    t => t.lagEvents,
  );
  perTenant(
    'gauge',
    'edupulse_relay_lag_seconds',
    'Age of the oldest event of the tenant not yet acknowledged by JetStream (0 when none).',
    t => t.lagSeconds,
  );
  perTenant('counter', 'edupulse_relay_published_total', 'Events the relay published and JetStream acknowledged.', t => t.published);
  perTenant('counter', 'edupulse_relay_retries_total', 'Times the relay started again after a failed publish.', t => t.retried);
  perTenant('counter', 'edupulse_relay_failures_total', 'Publishes (and starts) of the relay that failed.', t => t.failed);
  const broker = {labelNames: ['broker'], labelsOf: () => ({broker: 'nats'})};
  rowMetric(registry, 'counter', relay, {
    name: 'edupulse_relay_connection_failures_total',
    help: 'Attempts of the relay to connect to NATS JetStream (and check its stream) that failed.',
    ...broker,
    value: status => status.connectionFailures,
  });
  rowMetric(registry, 'gauge', relay, {
    name: 'edupulse_relay_connected',
    help: '1 while the relay is connected to NATS JetStream, 0 while it is not (it retries). Absent without --event-broker-url.',
    ...broker,
    value: status => (status.connected ? 1 : 0),
  });
}
