import {createServer, connect, type AddressInfo, type Socket} from 'node:net';

/**
 * A TCP proxy in front of the server, for losing replies on purpose. Once
 * `loseNextReply()` is armed, bytes from the server are swallowed from the next
 * client bytes on (the request goes through, the reply does not), and after
 * `cutAfterMs` the connection is destroyed, as a network failure would.
 */
export type TcpProxy = {
  /** `host:port` to dial instead of the server. */
  readonly address: string;
  /** Arms the loss of the reply to the next request on any open connection. */
  loseNextReply(cutAfterMs: number): Promise<void>;
  /** Connections the proxy has accepted so far. */
  connections(): number;
  close(): Promise<void>;
};

/** Starts a proxy on 127.0.0.1:0 forwarding to `target` (`host:port`). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  let accepted = 0;
  let armed: {cutAfterMs: number; done: () => void} | undefined;

  const server = createServer(client => {
    accepted += 1;
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    let swallowing = false;
    client.on('data', chunk => {
      if (armed !== undefined && !swallowing) {
        const {cutAfterMs, done} = armed;
        armed = undefined;
        swallowing = true;
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
          done();
        }, cutAfterMs);
      }
      upstream.write(chunk);
    });
    upstream.on('data', chunk => {
      if (!swallowing) client.write(chunk);
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('close', () => b.destroy());
      a.on('error', () => b.destroy());
    }
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const {port: proxyPort} = server.address() as AddressInfo;

  return {
    address: `127.0.0.1:${proxyPort}`,
    loseNextReply(cutAfterMs) {
      return new Promise(resolve => {
        armed = {cutAfterMs, done: resolve};
      });
    },
    connections: () => accepted,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise(resolve => server.close(resolve));
    },
  };
}
