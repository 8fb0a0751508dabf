import {labelNames, labelNamesWithCode, registry as grpcRegistry} from 'nice-grpc-prometheus';
import {Counter, type LabelValues} from 'prom-client';

type GrpcLabel = (typeof labelNames)[number];
type GrpcLabelWithCode = (typeof labelNamesWithCode)[number];

/**
 * A prom-client Counter in the place of nice-grpc-prometheus's default counter
 * `name`, with its help text and in its registry (the default, which the
 * middleware then leaves unused, leaves the registry). It counts in plain
 * numbers between scrapes and hands the sums to prom-client when it is scraped
 * (its `collect`): prom-client hashes and checks the label set on every `inc`,
 * a child from `labels()` included, some 0.4 µs, and nice-grpc-prometheus
 * increments once a call and once for every message streamed. Here the label set is looked up by `keyOf`, which must tell every
 * label set apart.
 */
function countedAtScrape<T extends string>(name: string, names: readonly T[], keyOf: (labels: LabelValues<T>) => string): Counter<T> {
  const pending = new Map<string, {labels: LabelValues<T>; count: number}>();
  const {help} = grpcRegistry.getSingleMetric(name) as unknown as {help: string};
  grpcRegistry.removeSingleMetric(name);
  const counter = new Counter<T>({
    name,
    help,
    labelNames: names,
    registers: [],
    collect() {
      for (const entry of pending.values()) {
        if (entry.count === 0) continue;
        add(entry.labels, entry.count);
        entry.count = 0;
      }
    },
  });
  // prom-client's own increment, for the sums at each scrape.
  const add: Counter<T>['inc'] = counter.inc.bind(counter);
  const entryOf = (labels: LabelValues<T>): {count: number} => {
    const key = keyOf(labels);
    let entry = pending.get(key);
    if (entry === undefined) {
      entry = {labels: {...labels}, count: 0};
      pending.set(key, entry);
    }
    return entry;
  };
  // nice-grpc-prometheus calls inc(labels) and labels(labels).inc(): both forms count here.
  counter.inc = ((labels?: LabelValues<T> | number, value: number = 1) => {
    // Without labels (nothing here counts so), prom-client's own increment.
    if (typeof labels !== 'object') return add(labels);
    entryOf(labels).count += value;
  }) as Counter<T>['inc'];
  counter.labels = ((labels: LabelValues<T>) => {
    const entry = entryOf(labels);
    return {inc: (value: number = 1) => void (entry.count += value)};
  }) as Counter<T>['labels'];
  grpcRegistry.registerMetric(counter);
  return counter;
}

// A method's path names its service, its method and its kind: it tells the label sets apart.
const byPath = (labels: LabelValues<GrpcLabel>): string => String(labels.grpc_path);
const byPathAndCode = (labels: LabelValues<GrpcLabelWithCode>): string => `${labels.grpc_path} ${labels.grpc_code}`;

const counters = {
  serverStartedMetric: countedAtScrape('grpc_server_started_total', labelNames, byPath),
  serverHandledMetric: countedAtScrape('grpc_server_handled_total', labelNamesWithCode, byPathAndCode),
  serverStreamMsgReceivedMetric: countedAtScrape('grpc_server_msg_received_total', labelNames, byPath),
  serverStreamMsgSentMetric: countedAtScrape('grpc_server_msg_sent_total', labelNames, byPath),
};

/**
 * The counters to give `prometheusServerMiddleware`: the same metrics, names
 * and labels as its defaults, in the same registry, counted at less cost.
 * One set per process, as the defaults are: every server of a process counts
 * into them.
 */
export const grpcServerCounters = counters;
