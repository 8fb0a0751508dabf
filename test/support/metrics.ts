import {expect} from 'vitest';
import type {EventStoreServer} from '../../server/src/startEventStoreServer.js';

/** One sample of the Prometheus text format. */
export type Sample = {name: string; labels: Record<string, string>; value: number};

/** Parses the Prometheus text format (the subset prom-client writes). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({name: match[1]!, labels, value: Number(match[3])});
  }
  return samples;
}

/** Fetches and parses `GET /metrics` of a test server, or of the endpoint at `host:port`. */
export async function scrapeMetrics(server: EventStoreServer | string): Promise<Sample[]> {
  const address = typeof server === 'string' ? server : `127.0.0.1:${server.metricsPort}`;
  const response = await fetch(`http://${address}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parse(await response.text());
}

/** The sum of the samples of `name` with `labels`; fails when there are none. */
export function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length === 0) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return found.reduce((sum, s) => sum + s.value, 0);
}
