package eventstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	eventstorev1 "edupulse.dev/eventstore/clients/go/gen/edupulse/eventstore/v1"
)

// ItemKind says what a SubscriptionItem is.
type ItemKind int

const (
	// ItemEvent carries an event.
	ItemEvent ItemKind = iota
	// ItemCaughtUp: history is delivered, live events follow. Comes again after a reconnect or a fall-behind.
	ItemCaughtUp
	// ItemFellBehind: the subscriber read more slowly than events were committed; it continues from disk, losing nothing.
	ItemFellBehind
)

// SubscriptionItem is what a subscription yields: an event, or news of its progress.
type SubscriptionItem struct {
	Kind ItemKind
	// Event, for ItemEvent.
	Event *eventstorev1.RecordedEvent
	// Position: of the event, or the log position caught up to or fallen behind at.
	Position uint64
}

// SubscribeOptions select what a subscription delivers and from where. The
// zero value subscribes to the tenant's whole log from the start.
type SubscribeOptions struct {
	// Stream subscribes to one stream; empty means the tenant's log.
	Stream string
	// AfterPosition resumes a log subscription after the position you processed last.
	AfterPosition *uint64
	// AfterRevision resumes a stream subscription after the revision you processed last.
	AfterRevision *uint64
	// FromEnd delivers only events committed from now on.
	FromEnd bool
	// Filter selects events; nil selects all.
	Filter *eventstorev1.EventFilter
	// HeartbeatInterval is how often a quiet server says it is there; 0 means
	// 5 s. Three intervals of silence count as a broken connection.
	HeartbeatInterval time.Duration
	// MaxReconnects in a row before the subscription yields an error; 0 means no limit.
	MaxReconnects int
}

var errSilent = errors.New("no heartbeat from the server")

// Subscribe yields history, then ItemCaughtUp, then live events, until ctx
// ends or the loop breaks. It reconnects with backoff and resumes after the
// last event it delivered (by position, or by revision for a stream), so that
// every event arrives once, in order. It yields an error only for a failure
// that reconnecting cannot mend (a bad request, a missing permission).
func (c *Client) Subscribe(ctx context.Context, options SubscribeOptions) iter.Seq2[SubscriptionItem, error] {
	return func(yield func(SubscriptionItem, error) bool) {
		if options.Stream != "" && options.AfterPosition != nil || options.Stream == "" && options.AfterRevision != nil {
			yield(SubscriptionItem{}, errors.New("AfterPosition is for log subscriptions, AfterRevision for stream subscriptions"))
			return
		}
		interval := options.HeartbeatInterval
		if interval == 0 {
			interval = 5 * time.Second
		}
		position, revision := uint64(0), options.AfterRevision
		if options.AfterPosition != nil {
			position = *options.AfterPosition
		}
		if options.FromEnd && options.AfterPosition == nil && options.AfterRevision == nil {
			// Pinned to a concrete place, so that a reconnect before the first event resumes there.
			var err error
			if position, revision, err = c.end(ctx, options.Stream); err != nil {
				yield(SubscriptionItem{}, err)
				return
			}
		}
		for failures := 0; ctx.Err() == nil; {
			request := &eventstorev1.SubscribeRequest{
				Tenant: c.options.Tenant, Stream: options.Stream, Filter: options.Filter,
				HeartbeatIntervalMs: uint32(interval / time.Millisecond),
			}
			switch {
			case options.Stream != "" && revision != nil:
				request.From = &eventstorev1.SubscribeRequest_AfterRevision{AfterRevision: *revision}
			case options.Stream == "" && position > 0:
				request.From = &eventstorev1.SubscribeRequest_AfterPosition{AfterPosition: position}
			default:
				request.From = &eventstorev1.SubscribeRequest_Start{Start: &emptypb.Empty{}}
			}
			attempt, cancel := context.WithCancelCause(c.outgoing(ctx))
			call, err := c.Raw.Subscribe(attempt, request)
			for err == nil {
				// The silence counts only while waiting for the server, not while the loop's body works.
				silence := time.AfterFunc(3*interval, func() { cancel(errSilent) })
				var message *eventstorev1.SubscribeResponse
				message, err = call.Recv()
				silence.Stop()
				if err != nil {
					break
				}
				failures = 0
				item := SubscriptionItem{}
				switch content := message.GetContent().(type) {
				case *eventstorev1.SubscribeResponse_Events:
					for _, event := range content.Events.GetEvents() {
						position, revision = event.GetPosition(), &event.Revision
						if !yield(SubscriptionItem{Kind: ItemEvent, Event: event, Position: position}, nil) {
							cancel(nil)
							return
						}
					}
					continue
				case *eventstorev1.SubscribeResponse_CaughtUp:
					position = max(position, content.CaughtUp.GetPosition())
					item = SubscriptionItem{Kind: ItemCaughtUp, Position: content.CaughtUp.GetPosition()}
				case *eventstorev1.SubscribeResponse_FellBehind:
					item = SubscriptionItem{Kind: ItemFellBehind, Position: content.FellBehind.GetPosition()}
				case *eventstorev1.SubscribeResponse_Checkpoint:
					position = max(position, content.Checkpoint.GetPosition())
					continue
				default:
					continue
				}
				if !yield(item, nil) {
					cancel(nil)
					return
				}
			}
			silent := errors.Is(context.Cause(attempt), errSilent)
			cancel(nil)
			if ctx.Err() != nil {
				return
			}
			if !silent && err != io.EOF && !reconnectable(status.Code(err)) {
				yield(SubscriptionItem{}, errorFrom(err))
				return
			}
			failures++
			if options.MaxReconnects > 0 && failures > options.MaxReconnects {
				yield(SubscriptionItem{}, fmt.Errorf("subscription gave up after %d reconnects: %w", options.MaxReconnects, err))
				return
			}
			if sleep(ctx, retryDelay(failures)) != nil {
				return
			}
		}
	}
}

// end is where "from the end" starts: the log's position, or the stream's revision (nil when it has none).
func (c *Client) end(ctx context.Context, stream string) (uint64, *uint64, error) {
	if stream != "" {
		info, err := c.StreamInfo(ctx, stream)
		return 0, info.Revision, err
	}
	request := &eventstorev1.ReadLogRequest{Tenant: c.options.Tenant, Direction: eventstorev1.ReadDirection_READ_DIRECTION_BACKWARDS, MaxCount: 1}
	head, err := unary(ctx, c, request, c.Raw.ReadLog)
	return head.GetLogPosition(), nil, err
}
