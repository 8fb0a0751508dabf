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
	return pages(options.From, func(from *uint64) ([]*eventstorev1.RecordedEvent, *uint64, error) {
		request := &eventstorev1.ReadStreamRequest{
			Tenant: c.options.Tenant, Stream: stream, Direction: options.direction(), FromRevision: from, MaxCount: options.PageSize,
		}
		page, err := unary(ctx, c, request, c.Raw.ReadStream)
		if err != nil {
			return nil, nil, err
		}
		return page.GetEvents(), page.NextRevision, nil
	})
}

// ReadLog yields the tenant's events in log order, optionally filtered, a page at a time.
func (c *Client) ReadLog(ctx context.Context, options ReadOptions) iter.Seq2[*eventstorev1.RecordedEvent, error] {
	return pages(options.From, func(from *uint64) ([]*eventstorev1.RecordedEvent, *uint64, error) {
		request := &eventstorev1.ReadLogRequest{
			Tenant: c.options.Tenant, Direction: options.direction(), FromPosition: from, MaxCount: options.PageSize, Filter: options.Filter,
		}
		page, err := unary(ctx, c, request, c.Raw.ReadLog)
		if err != nil {
			return nil, nil, err
		}
		return page.GetEvents(), page.NextPosition, nil
	})
}

// pages yields the events of the pages fetch returns, each page starting where the last said the next one does.
func pages(from *uint64, fetch func(from *uint64) ([]*eventstorev1.RecordedEvent, *uint64, error)) iter.Seq2[*eventstorev1.RecordedEvent, error] {
	return func(yield func(*eventstorev1.RecordedEvent, error) bool) {
		for {
			events, next, err := fetch(from)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, event := range events {
				if !yield(event, nil) {
					return
				}
			}
			if next == nil {
				return
			}
			from = next
		}
	}
}
