import type {Http2Session, ServerHttp2Stream} from 'node:http2';
import type {ServerInterceptingCall, ServerInterceptor} from '@grpc/grpc-js';

/**
 * The HTTP/2 receive window the server grants each connection and each stream.
 *
 * grpc-js keeps Node's default of 64 KiB on the server (it takes
 * `grpc-node.flow_control_window` on the client only; grpc/grpc-node#3058
 * would add it to the server). A client can then have only 64 KiB of requests
 * on the way to the server per connection: concurrent appends of 2 KiB
 * events, or batches of 100, wait for the server's event loop to read and
 * acknowledge before more is sent. 1 MiB lets a session's pipelined appends
 * and several batches travel at once. It is also what a connection can hold
 * unread in the server: grpc-js stops reading a stream between messages until
 * the handler asks for the next (an append session at its most appends in
 * flight, say), and the window bounds what arrives meanwhile.
 */
export const RECEIVE_WINDOW_BYTES = 1024 * 1024;

/**
 * A grpc-js server interceptor that widens the receive window of each HTTP/2
 * connection on its first call: the connection's window at once, and through
 * a SETTINGS frame the window of every stream (existing ones included, as
 * HTTP/2 applies a new initial window to them). It passes every call on as
 * it is, unwrapped. It reads the call's HTTP/2 stream from grpc-js's base
 * call, which does not declare it: test/receiveWindow.int.spec.ts fails if a
 * grpc-js upgrade moves it.
 */
export function receiveWindowInterceptor(windowBytes = RECEIVE_WINDOW_BYTES): ServerInterceptor {
  const widened = new WeakSet<Http2Session>();
  return (_method, call) => {
    const session = (call as unknown as {stream?: ServerHttp2Stream}).stream?.session;
    if (session !== undefined && !widened.has(session) && !session.destroyed) {
      widened.add(session);
      session.setLocalWindowSize(windowBytes);
      session.settings({initialWindowSize: windowBytes});
    }
    // The call itself, not a wrapper: a wrapping ServerInterceptingCall would
    // be one more hop for every message. grpc-js only uses the interface.
    return call as ServerInterceptingCall;
  };
}
