// Interop scenario for Go: the module of clients/go, its generated code used
// directly and its Client.
//
// Appends a typed LessonPublished encoded as protobuf, reads it back and
// decodes it, provokes a wrong-expected-revision error and reads the actual
// revision from the error details, then subscribes from the start and receives
// the history and a live event appended by another client (its own
// connection); then the same through the module's Client (a resent append
// deduplicated, the conflict as *WrongExpectedRevisionError, a subscription's
// history and live event). Prints one "STEP go <name> PASS|FAIL <detail>" line per step;
// exits 1 on any mismatch.
//
// Usage: go run . HOST:PORT
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	eventstore "edupulse.dev/eventstore/clients/go"
	eventsv1 "edupulse.dev/eventstore/clients/go/gen/edupulse/events/v1"
	eventstorev1 "edupulse.dev/eventstore/clients/go/gen/edupulse/eventstore/v1"
)

const tenant = "interop-go"

var failures int

func step(name string, ok bool, detail string) {
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
		failures++
	}
	fmt.Printf("STEP go %s %s %s\n", name, verdict, detail)
}

func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func dial(address string) *grpc.ClientConn {
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	return conn
}

func run(address string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := dial(address)
	defer conn.Close()
	store := eventstorev1.NewEventStoreServiceClient(conn)

	lessonID := newUUID()
	stream := "lesson-" + lessonID
	lesson := &eventsv1.LessonPublished{LessonId: lessonID, CourseId: "c-1", Title: "Fractions", TeacherId: "t-1"}
	data, err := proto.Marshal(lesson)
	if err != nil {
		return err
	}
	noStream := &eventstorev1.ExpectedRevision{Kind: &eventstorev1.ExpectedRevision_NoStream{NoStream: &emptypb.Empty{}}}
	appended, err := store.Append(ctx, &eventstorev1.AppendRequest{
		Tenant: tenant, Stream: stream, ExpectedRevision: noStream,
		Events: []*eventstorev1.ProposedEvent{{
			EventId: newUUID(), Type: "edupulse.events.v1.LessonPublished",
			ContentType: "application/x-protobuf", Data: data,
		}},
	})
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	step("append", appended.FirstRevision == 0 && appended.LastPosition >= 1, fmt.Sprintf("position=%d", appended.LastPosition))

	read, err := store.ReadStream(ctx, &eventstorev1.ReadStreamRequest{Tenant: tenant, Stream: stream})
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	decoded := &eventsv1.LessonPublished{}
	decodeErr := fmt.Errorf("no event")
	if len(read.Events) == 1 {
		decodeErr = proto.Unmarshal(read.Events[0].Data, decoded)
	}
	step("read-and-decode", decodeErr == nil && proto.Equal(decoded, lesson), fmt.Sprintf("title=%q", decoded.Title))

	_, err = store.Append(ctx, &eventstorev1.AppendRequest{
		Tenant: tenant, Stream: stream, ExpectedRevision: noStream,
		Events: []*eventstorev1.ProposedEvent{{Type: "test.Conflict", ContentType: "application/json", Data: []byte("{}")}},
	})
	st := status.Convert(err)
	var info *errdetails.ErrorInfo
	for _, detail := range st.Details() {
		if i, ok := detail.(*errdetails.ErrorInfo); ok {
			info = i
		}
	}
	step("wrong-expected-revision",
		err != nil && st.Code() == codes.Aborted && info != nil && info.Metadata["actual_revision"] == "0",
		fmt.Sprintf("code=%s reason=%s actual_revision=%s", st.Code(), info.GetReason(), info.GetMetadata()["actual_revision"]))

	// A failed append of a session carries a google.rpc.Status, read with the standard helpers.
	session, err := store.AppendSession(ctx)
	if err != nil {
		return fmt.Errorf("append session: %w", err)
	}
	exact := &eventstorev1.ExpectedRevision{Kind: &eventstorev1.ExpectedRevision_Exact{Exact: 7}}
	if err := session.Send(&eventstorev1.AppendSessionRequest{Appends: []*eventstorev1.SessionAppend{{RequestId: 1, Append: &eventstorev1.AppendRequest{
		Tenant: tenant, Stream: stream, ExpectedRevision: exact,
		Events: []*eventstorev1.ProposedEvent{{Type: "test.Conflict", ContentType: "application/json", Data: []byte("{}")}},
	}}}}); err != nil {
		return fmt.Errorf("append session: %w", err)
	}
	if err := session.CloseSend(); err != nil {
		return fmt.Errorf("append session: %w", err)
	}
	answer, err := session.Recv()
	if err != nil || len(answer.Outcomes) != 1 {
		return fmt.Errorf("append session: %v", err)
	}
	failed := status.FromProto(answer.Outcomes[0].GetStatus())
	var sessionInfo *errdetails.ErrorInfo
	for _, detail := range failed.Details() {
		if i, ok := detail.(*errdetails.ErrorInfo); ok {
			sessionInfo = i
		}
	}
	step("session-error-status",
		answer.Outcomes[0].GetStatus() != nil && failed.Code() == codes.Aborted && sessionInfo != nil && sessionInfo.Metadata["actual_revision"] == "0",
		fmt.Sprintf("code=%s actual_revision=%s", failed.Code(), sessionInfo.GetMetadata()["actual_revision"]))

	subCtx, stop := context.WithCancel(ctx)
	defer stop()
	subscription, err := store.Subscribe(subCtx, &eventstorev1.SubscribeRequest{Tenant: tenant, HeartbeatIntervalMs: 1000})
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	var history []*eventstorev1.RecordedEvent
	var caughtUp uint64
	for caughtUp == 0 {
		message, err := subscription.Recv()
		if err != nil {
			return fmt.Errorf("subscription: %w", err)
		}
		switch content := message.Content.(type) {
		case *eventstorev1.SubscribeResponse_Events:
			history = append(history, content.Events.Events...)
		case *eventstorev1.SubscribeResponse_CaughtUp:
			caughtUp = content.CaughtUp.Position
		}
	}
	step("subscribe-history", len(history) == 1 && history[0].EventId == read.Events[0].EventId, fmt.Sprintf("caught_up=%d", caughtUp))

	other := dial(address)
	defer other.Close()
	liveID := newUUID()
	if _, err := eventstorev1.NewEventStoreServiceClient(other).Append(ctx, &eventstorev1.AppendRequest{
		Tenant: tenant, Stream: stream,
		Events: []*eventstorev1.ProposedEvent{{EventId: liveID, Type: "test.Live", ContentType: "application/json", Data: []byte(`{"live":true}`)}},
	}); err != nil {
		return fmt.Errorf("live append: %w", err)
	}
	for {
		message, err := subscription.Recv()
		if err != nil {
			return fmt.Errorf("subscription: %w", err)
		}
		if events, ok := message.Content.(*eventstorev1.SubscribeResponse_Events); ok {
			live := events.Events.Events[0]
			step("subscribe-live", live.EventId == liveID && live.Position == caughtUp+1, fmt.Sprintf("position=%d", live.Position))
			return consumeGroup(ctx, conn, live.Position)
		}
	}
}

// consumeGroup creates a consumer group, joins it over the bidirectional
// Consume call, acks every event it is given, and checks that each of the
// tenant's logPosition events came once and was settled.
func consumeGroup(ctx context.Context, conn *grpc.ClientConn, logPosition uint64) error {
	groups := eventstorev1.NewConsumerGroupServiceClient(conn)
	if _, err := groups.CreateConsumerGroup(ctx, &eventstorev1.CreateConsumerGroupRequest{Tenant: tenant, Name: "go-workers"}); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	callCtx, stop := context.WithCancel(ctx)
	defer stop()
	call, err := groups.Consume(callCtx)
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	if err := call.Send(&eventstorev1.ConsumeRequest{Join: &eventstorev1.ConsumeJoin{Tenant: tenant, Group: "go-workers", Credit: 10}}); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	delivered := map[uint64]bool{}
	settled := 0
	for uint64(settled) < logPosition {
		message, err := call.Recv()
		if err != nil {
			return fmt.Errorf("consume: %w", err)
		}
		switch content := message.Content.(type) {
		case *eventstorev1.ConsumeResponse_Deliveries:
			var acks []uint64
			for _, d := range content.Deliveries.Deliveries {
				delivered[d.Event.Position] = true
				acks = append(acks, d.Event.Position)
			}
			if err := call.Send(&eventstorev1.ConsumeRequest{Acks: acks, Credit: uint32(len(acks))}); err != nil {
				return fmt.Errorf("ack: %w", err)
			}
		case *eventstorev1.ConsumeResponse_Settlements:
			settled += len(content.Settlements.Settled)
		}
	}
	step("consume-group", uint64(len(delivered)) == logPosition && uint64(settled) == logPosition, fmt.Sprintf("delivered=%d settled=%d", len(delivered), settled))
	return nil
}

// withClient runs the steps through the module's Client.
func withClient(address string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := eventstore.New(address, eventstore.Options{Tenant: tenant + "-client"})
	if err != nil {
		return err
	}
	defer client.Close()
	enrolled, err := eventstore.JSONEvent("test.Enrolled", map[string]string{"learner": "l-1"})
	if err != nil {
		return err
	}
	first, err := client.Append(ctx, "enrolment-1", []eventstore.EventData{enrolled}, eventstore.NoStream())
	if err != nil {
		return err
	}
	again, err := client.Append(ctx, "enrolment-1", []eventstore.EventData{enrolled}, eventstore.Any())
	if err != nil {
		return err
	}
	step("client-resend-deduplicated", again.Deduplicated && again.LastPosition == first.LastPosition, "")
	other, _ := eventstore.JSONEvent("test.Enrolled", struct{}{})
	_, err = client.Append(ctx, "enrolment-1", []eventstore.EventData{other}, eventstore.NoStream())
	var conflict *eventstore.WrongExpectedRevisionError
	ok := errors.As(err, &conflict) && conflict.ActualRevision != nil && *conflict.ActualRevision == 0
	step("client-conflict", ok, fmt.Sprintf("error=%v", err))
	live, _ := eventstore.JSONEvent("test.Live", struct{}{})
	var kinds []eventstore.ItemKind
	for item, err := range client.Subscribe(ctx, eventstore.SubscribeOptions{HeartbeatInterval: time.Second}) {
		if err != nil {
			return err
		}
		kinds = append(kinds, item.Kind)
		if item.Kind == eventstore.ItemCaughtUp {
			if _, err := client.Append(ctx, "enrolment-2", []eventstore.EventData{live}, eventstore.Any()); err != nil {
				return err
			}
		}
		if item.Kind == eventstore.ItemEvent && item.Event.GetEventId() == live.EventID {
			break
		}
	}
	step("client-subscribe", fmt.Sprint(kinds) == fmt.Sprint([]eventstore.ItemKind{eventstore.ItemEvent, eventstore.ItemCaughtUp, eventstore.ItemEvent}), fmt.Sprintf("kinds=%v", kinds))
	return nil
}

func main() {
	if err := run(os.Args[1]); err != nil {
		step("unexpected-error", false, err.Error())
	}
	if err := withClient(os.Args[1]); err != nil {
		step("unexpected-client-error", false, err.Error())
	}
	if failures > 0 {
		os.Exit(1)
	}
}
