package eventstore

import (
	"google.golang.org/protobuf/types/known/emptypb"

	eventstorev1 "edupulse.dev/eventstore/clients/go/gen/edupulse/eventstore/v1"
)

// ExpectedRevision is the condition on a stream under which an append goes
// ahead; the zero value is Any.
type ExpectedRevision struct {
	wire *eventstorev1.ExpectedRevision
}

// Any appends whatever the stream holds.
func Any() ExpectedRevision { return ExpectedRevision{} }

// NoStream appends only to a stream that does not exist yet.
func NoStream() ExpectedRevision {
	return ExpectedRevision{&eventstorev1.ExpectedRevision{Kind: &eventstorev1.ExpectedRevision_NoStream{NoStream: &emptypb.Empty{}}}}
}

// StreamExists appends only to a stream that exists.
func StreamExists() ExpectedRevision {
	return ExpectedRevision{&eventstorev1.ExpectedRevision{Kind: &eventstorev1.ExpectedRevision_StreamExists{StreamExists: &emptypb.Empty{}}}}
}

// Exact appends only when the stream's last event has this revision.
func Exact(revision uint64) ExpectedRevision {
	return ExpectedRevision{&eventstorev1.ExpectedRevision{Kind: &eventstorev1.ExpectedRevision_Exact{Exact: revision}}}
}
