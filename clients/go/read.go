package eventstore

import (
	"context"
	"iter"

	eventstorev1 "edupulse.dev/eventstore/clients/go/gen/edupulse/eventstore/v1"
)

// ReadOptions select where a read starts and how it goes.
type ReadOptions struct {
	// From is the first revision (ReadStream) or position (ReadLog) to return,
	// inclusive; nil starts at the first (or, backwards, the last).
	From *uint64
	// Backwards reads newest first.
	Backwards bool
	// PageSize is the most events fetched per call; 0 means the server's default (100).
	PageSize uint32
	// Filter selects events of a log read; nil selects all.
	Filter *eventstorev1.EventFilter
}

func (o ReadOptions) direction() eventstorev1.ReadDirection {
	if o.Backwards {
		return eventstorev1.ReadDirection_READ_DIRECTION_BACKWARDS
	}
	return eventstorev1.ReadDirection_READ_DIRECTION_FORWARDS
}

// ReadStream yields the stream's events, fetching a page at a time as the loop
// goes; a missing stream yields a *StreamNotFoundError.
func (c *Client) ReadStream(ctx context.Context, stream string, options ReadOptions) iter.Seq2[*eventstorev1.RecordedEvent, error] {
	return func(yield func(*eventstorev1.RecordedEvent, error) bool) {
		from := options.From
		for {
			request := &eventstorev1.ReadStreamRequest{
				Tenant: c.options.Tenant, Stream: stream, Direction: options.direction(), FromRevision: from, MaxCount: options.PageSize,
			}
			page, err := unary(ctx, c, request, c.Raw.ReadStream)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, event := range page.GetEvents() {
				if !yield(event, nil) {
					return
				}
			}
			if page.NextRevision == nil {
				return
			}
			from = page.NextRevision
		}
	}
}

// ReadLog yields the tenant's events in log order, optionally filtered, a page at a time.
func (c *Client) ReadLog(ctx context.Context, options ReadOptions) iter.Seq2[*eventstorev1.RecordedEvent, error] {
	return func(yield func(*eventstorev1.RecordedEvent, error) bool) {
		from := options.From
		for {
			request := &eventstorev1.ReadLogRequest{
				Tenant: c.options.Tenant, Direction: options.direction(), FromPosition: from, MaxCount: options.PageSize, Filter: options.Filter,
			}
			page, err := unary(ctx, c, request, c.Raw.ReadLog)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, event := range page.GetEvents() {
				if !yield(event, nil) {
					return
				}
			}
			if page.NextPosition == nil {
				return
			}
			from = page.NextPosition
		}
	}
}
