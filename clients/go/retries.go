package eventstore

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"
)

// retryable: the call may not have reached the store, or the server failed on
// its side; safe to resend a request whose ids were made before the first try.
func retryable(code codes.Code) bool {
	switch code {
	case codes.Unavailable, codes.Internal, codes.Unknown, codes.ResourceExhausted:
		return true
	}
	return false
}

// reconnectable: a subscription is opened again after these.
func reconnectable(code codes.Code) bool {
	return retryable(code) || code == codes.DeadlineExceeded || code == codes.Canceled
}

// retryDelay is the wait before try number failures+1: exponential from 100 ms to 5 s, with jitter.
func retryDelay(failures int) time.Duration {
	wait := min(100*time.Millisecond<<min(failures-1, 10), 5*time.Second)
	return time.Duration(float64(wait) * (0.5 + rand.Float64()/2))
}

// sleep waits d, or until ctx ends (returning its error).
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
