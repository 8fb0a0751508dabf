import {expect, it} from 'vitest';
import {scrapeMetrics} from '../support/metrics.js';
import {createDatabase, sharedPostgresUrl} from '../support/postgres.js';
import {startTestServer} from '../support/testServer.js';

it('reports its database connections and that the database answers; a LevelDB server reports neither', async () => {
  const onPostgres = await startTestServer({postgresUrl: await createDatabase(sharedPostgresUrl()), postgresPoolSize: 4});
  try {
    await onPostgres.client.append({stream: 's', events: [{type: 'test.E', contentType: 'application/json', data: Buffer.from('{}')}]});
    const samples = await scrapeMetrics(onPostgres.server);
    const of = (name: string, state?: string): number[] =>
      samples.filter(s => s.name === name && (state === undefined || s.labels.state === state)).map(s => s.value);
    expect(of('edupulse_database_available')).toEqual([1]);
    const [open] = of('edupulse_database_connections', 'open');
    const [idle] = of('edupulse_database_connections', 'idle');
    expect(open).toBeGreaterThanOrEqual(1);
    expect(open).toBeLessThanOrEqual(4);
    expect(idle).toBeLessThanOrEqual(open!);
    expect(of('edupulse_database_connections', 'waiting')).toEqual([0]);
  } finally {
    await onPostgres.dispose();
  }
  const onLevel = await startTestServer();
  try {
    const samples = await scrapeMetrics(onLevel.server);
    expect(samples.filter(s => s.name.startsWith('edupulse_database_'))).toEqual([]);
  } finally {
    await onLevel.dispose();
  }
});
