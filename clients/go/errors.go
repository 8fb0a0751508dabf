package eventstore

import (
	"fmt"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the domain of the store's google.rpc.ErrorInfo details.
const ErrorDomain = "eventstore.edupulse.dev"

// StatusError is a failed call: its gRPC code, the server's message and, when
// the server gave one, the reason of its ErrorInfo. status.FromError reads it.
// The errors below embed it: errors.As with *StatusError matches them all.
type StatusError struct {
	Code    codes.Code
	Message string
	Reason  string
	status  *status.Status
}

func (e *StatusError) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// GRPCStatus is the status the server sent.
func (e *StatusError) GRPCStatus() *status.Status { return e.status }

// WrongExpectedRevisionError: the stream was not at the expected revision.
// ActualRevision is nil when the stream does not exist.
type WrongExpectedRevisionError struct {
	*StatusError
	Stream         string
	Expected       string
	ActualRevision *uint64
}

// Unwrap gives the general *StatusError.
func (e *WrongExpectedRevisionError) Unwrap() error { return e.StatusError }

// StreamNotFoundError: the stream does not exist, or was deleted.
type StreamNotFoundError struct {
	*StatusError
	Stream string
}

// Unwrap gives the general *StatusError.
func (e *StreamNotFoundError) Unwrap() error { return e.StatusError }

// DuplicateEventIDError: an event id already stored with other content.
type DuplicateEventIDError struct {
	*StatusError
	EventID string
	Stream  string
}

// Unwrap gives the general *StatusError.
func (e *DuplicateEventIDError) Unwrap() error { return e.StatusError }

// InvalidRequestError: the server refused the request as malformed; each
// violation names a field.
type InvalidRequestError struct {
	*StatusError
	Violations []*errdetails.BadRequest_FieldViolation
}

// Unwrap gives the general *StatusError.
func (e *InvalidRequestError) Unwrap() error { return e.StatusError }

// errorFrom turns a call's error into the most specific error of this package.
func errorFrom(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	base := &StatusError{Code: st.Code(), Message: st.Message(), status: st}
	var info *errdetails.ErrorInfo
	var badRequest *errdetails.BadRequest
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() == ErrorDomain {
				info = d
			}
		case *errdetails.BadRequest:
			badRequest = d
		}
	}
	if info != nil {
		base.Reason = info.GetReason()
		meta := info.GetMetadata()
		switch info.GetReason() {
		case "WRONG_EXPECTED_REVISION":
			conflict := &WrongExpectedRevisionError{StatusError: base, Stream: meta["stream"], Expected: meta["expected"]}
			if actual, err := strconv.ParseUint(meta["actual_revision"], 10, 64); err == nil {
				conflict.ActualRevision = &actual
			}
			return conflict
		case "STREAM_NOT_FOUND":
			return &StreamNotFoundError{StatusError: base, Stream: meta["stream"]}
		case "DUPLICATE_EVENT_ID":
			return &DuplicateEventIDError{StatusError: base, EventID: meta["event_id"], Stream: meta["stream"]}
		}
	}
	if st.Code() == codes.InvalidArgument {
		return &InvalidRequestError{StatusError: base, Violations: badRequest.GetFieldViolations()}
	}
	return base
}
