import * as grpc from '@grpc/grpc-js';
import {ServerReflectionService} from 'nice-grpc-server-reflection';
import {
  ServerReflectionRequest,
  type ServerReflectionResponse,
} from 'nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb.js';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {healthAt, startTestServer, type TestServer} from '../support/testServer.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.dispose();
});

/** One request on the reflection stream, as grpcurl sends it, through a plain grpc-js client. */
async function reflect(build: (r: ServerReflectionRequest) => void): Promise<ServerReflectionResponse> {
  const Client = grpc.makeGenericClientConstructor(ServerReflectionService, 'ServerReflection');
  const client = new Client(t.address, grpc.credentials.createInsecure());
  try {
    const call = client.serverReflectionInfo!() as grpc.ClientDuplexStream<ServerReflectionRequest, ServerReflectionResponse>;
    const response = new Promise<ServerReflectionResponse>((resolve, reject) => {
      call.once('data', resolve);
      call.once('error', reject);
    });
    const request = new ServerReflectionRequest();
    build(request);
    call.write(request);
    call.end();
    return await response;
  } finally {
    client.close();
  }
}

it('lists the event store, consumer group and health services through server reflection', async () => {
  const response = await reflect(r => r.setListServices(''));
  const names = response
    .getListServicesResponse()!
    .getServiceList()
    .map(s => s.getName());
  expect(names.sort()).toEqual([
    'edupulse.eventstore.v1.ConsumerGroupService',
    'edupulse.eventstore.v1.EventStoreService',
    'grpc.health.v1.Health',
  ]);
});

it('serves the schemas a generic client needs: the API, and the rich error details it sends', async () => {
  for (const symbol of ['edupulse.eventstore.v1.RecordedEvent', 'google.rpc.ErrorInfo', 'google.rpc.BadRequest']) {
    const response = await reflect(r => r.setFileContainingSymbol(symbol));
    expect(response.getFileDescriptorResponse()?.getFileDescriptorProtoList().length, symbol).toBeGreaterThan(0);
  }
});

it('reports SERVING on the standard health service, overall and for the event store', async () => {
  expect(await healthAt(t.address)).toEqual({overall: 1, store: 1});
});
