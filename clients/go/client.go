package eventstore

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	eventstorev1 "edupulse.dev/eventstore/clients/go/gen/edupulse/eventstore/v1"
)

// Options of a Client; the zero value is a plaintext client of tenant "default".
type Options struct {
	// Tenant of every call; empty means "default".
	Tenant string
	// APIKey, sent as "authorization: Bearer <key>", when the server requires keys.
	APIKey string
	// TLS encrypts the connection when set (RootCAs to trust a private CA,
	// Certificates for mutual TLS).
	TLS *tls.Config
	// Timeout of one try of a unary call; 0 means 10 s.
	Timeout time.Duration
	// MaxAttempts of a unary call, the first included; 0 means 5.
	MaxAttempts int
	// DialOptions are added to the client's own.
	DialOptions []grpc.DialOption
}

// Client is a client of one tenant of the store, safe for concurrent use.
//
// Unary calls are retried (with backoff) after failures that may not have
// reached the store; an append resends the same event ids, so a retry is never
// stored twice. Until the server has answered once, a failure to connect is
// returned at once, naming the address and the cause.
type Client struct {
	// Raw is the generated client, for what this one does not wrap.
	Raw      eventstorev1.EventStoreServiceClient
	conn     *grpc.ClientConn
	address  string
	options  Options
	answered atomic.Bool
}

// New makes a client of the server at address (host:port). It connects on the first call.
func New(address string, options Options) (*Client, error) {
	if options.Tenant == "" {
		options.Tenant = "default"
	}
	if options.Timeout == 0 {
		options.Timeout = 10 * time.Second
	}
	if options.MaxAttempts == 0 {
		options.MaxAttempts = 5
	}
	transport := insecure.NewCredentials()
	if options.TLS != nil {
		transport = credentials.NewTLS(options.TLS)
	}
	reconnect := backoff.DefaultConfig
	reconnect.BaseDelay, reconnect.MaxDelay = 100*time.Millisecond, 5*time.Second
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: reconnect, MinConnectTimeout: 5 * time.Second}),
	}, options.DialOptions...)
	conn, err := grpc.NewClient(address, dial...)
	if err != nil {
		return nil, err
	}
	return &Client{Raw: eventstorev1.NewEventStoreServiceClient(conn), conn: conn, address: address, options: options}, nil
}

// Tenant is the tenant of the client's calls.
func (c *Client) Tenant() string { return c.options.Tenant }

// Close closes the connection; calls in progress end.
func (c *Client) Close() error { return c.conn.Close() }

// AppendResult says where the events went. Deduplicated means a retry found
// them stored already: nothing was written.
type AppendResult struct {
	FirstPosition, LastPosition uint64
	FirstRevision, LastRevision uint64
	Deduplicated                bool
}

// Append appends the events to the stream, atomically, if it is at expected.
// A conflict is a *WrongExpectedRevisionError carrying the actual revision.
func (c *Client) Append(ctx context.Context, stream string, events []EventData, expected ExpectedRevision) (AppendResult, error) {
	request := &eventstorev1.AppendRequest{Tenant: c.options.Tenant, Stream: stream, ExpectedRevision: expected.wire}
	for _, event := range events {
		if event.EventID == "" {
			// Made once, here, so that every retry below sends the same id.
			event.EventID = NewEventID()
		}
		request.Events = append(request.Events, event.proposed())
	}
	response, err := unary(ctx, c, request, c.Raw.Append)
	if err != nil {
		return AppendResult{}, err
	}
	return AppendResult{
		FirstPosition: response.GetFirstPosition(), LastPosition: response.GetLastPosition(),
		FirstRevision: response.GetFirstRevision(), LastRevision: response.GetLastRevision(),
		Deduplicated: response.GetDeduplicated(),
	}, nil
}

// StreamInfo is a stream's state; Revision is nil for a stream without events.
type StreamInfo struct {
	Exists, Deleted, Tombstoned bool
	Revision, LastPosition      *uint64
	LogPosition                 uint64
}

// StreamInfo reads a stream's revision and state, without its events.
func (c *Client) StreamInfo(ctx context.Context, stream string) (StreamInfo, error) {
	info, err := unary(ctx, c, &eventstorev1.GetStreamInfoRequest{Tenant: c.options.Tenant, Stream: stream}, c.Raw.GetStreamInfo)
	if err != nil {
		return StreamInfo{}, err
	}
	return StreamInfo{
		Exists: info.GetExists(), Deleted: info.GetDeleted(), Tombstoned: info.GetTombstoned(),
		Revision: info.Revision, LastPosition: info.LastPosition, LogPosition: info.GetLogPosition(),
	}, nil
}

func (c *Client) outgoing(ctx context.Context) context.Context {
	if c.options.APIKey == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.options.APIKey)
}

// unary makes a call with retries, each try with the client's timeout.
func unary[Request, Response any](ctx context.Context, c *Client, request Request,
	method func(context.Context, Request, ...grpc.CallOption) (Response, error),
) (Response, error) {
	for attempt := 1; ; attempt++ {
		tryCtx, cancel := context.WithTimeout(c.outgoing(ctx), c.options.Timeout)
		response, err := method(tryCtx, request)
		cancel()
		if err == nil {
			c.answered.Store(true)
			return response, nil
		}
		code := status.Code(err)
		if code == codes.Unavailable && !c.answered.Load() && ctx.Err() == nil {
			st, _ := status.FromError(err)
			return response, &StatusError{Code: code, Message: fmt.Sprintf("cannot connect to %s: %s", c.address, st.Message()), status: st}
		}
		if code != codes.Unavailable {
			c.answered.Store(true)
		}
		if !retryable(code) || attempt >= c.options.MaxAttempts || ctx.Err() != nil {
			return response, errorFrom(err)
		}
		if err := sleep(ctx, retryDelay(attempt)); err != nil {
			return response, err
		}
	}
}
