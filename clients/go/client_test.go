package eventstore_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	eventstore "edupulse.dev/eventstore/clients/go"
	eventsv1 "edupulse.dev/eventstore/clients/go/gen/edupulse/events/v1"
	eventstorev1 "edupulse.dev/eventstore/clients/go/gen/edupulse/eventstore/v1"
)

func newClient(t *testing.T, address string, options eventstore.Options) *eventstore.Client {
	if options.Tenant == "" {
		options.Tenant = "go-" + strings.ReplaceAll(t.Name(), "/", "-")[:min(len(t.Name()), 40)]
		options.Tenant = strings.ToLower(options.Tenant)
	}
	client, err := eventstore.New(address, options)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func jsonEvent(t *testing.T, eventType string, value any) eventstore.EventData {
	event, err := eventstore.JSONEvent(eventType, value)
	if err != nil {
		t.Fatal(err)
	}
	return event
}

func collect(t *testing.T, events func(func(*eventstorev1.RecordedEvent, error) bool)) []*eventstorev1.RecordedEvent {
	var all []*eventstorev1.RecordedEvent
	for event, err := range events {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, event)
	}
	return all
}

func TestAppendsAndReadsJSONAndProtobufEvents(t *testing.T) {
	server := startServer(t)
	client, ctx := newClient(t, server.address, eventstore.Options{}), testContext(t)
	lesson := &eventsv1.LessonPublished{LessonId: "l-1", CourseId: "c-1", Title: "Fractions", TeacherId: "t-1"}
	published, err := eventstore.ProtobufEvent(lesson)
	if err != nil {
		t.Fatal(err)
	}
	note := jsonEvent(t, "test.Note", map[string]string{"text": "bring a ruler"})
	result, err := client.Append(ctx, "lesson-1", []eventstore.EventData{published, note}, eventstore.NoStream())
	if err != nil {
		t.Fatal(err)
	}
	if result.FirstRevision != 0 || result.LastRevision != 1 || result.LastPosition != 2 {
		t.Fatalf("append result %+v", result)
	}
	events := collect(t, client.ReadStream(ctx, "lesson-1", eventstore.ReadOptions{}))
	if len(events) != 2 || events[0].GetType() != "edupulse.events.v1.LessonPublished" {
		t.Fatalf("read %v", events)
	}
	decoded := &eventsv1.LessonPublished{}
	if err := proto.Unmarshal(events[0].GetData(), decoded); err != nil || !proto.Equal(decoded, lesson) {
		t.Fatalf("decoded %v, %v", decoded, err)
	}
	var text map[string]string
	if err := json.Unmarshal(events[1].GetData(), &text); err != nil || text["text"] != "bring a ruler" {
		t.Fatalf("JSON event %q, %v", events[1].GetData(), err)
	}
	info, err := client.StreamInfo(ctx, "lesson-1")
	if err != nil || !info.Exists || info.Revision == nil || *info.Revision != 1 {
		t.Fatalf("stream info %+v, %v", info, err)
	}
}

func TestResendingTheSameEventsIsDeduplicated(t *testing.T) {
	server := startServer(t)
	client, ctx := newClient(t, server.address, eventstore.Options{}), testContext(t)
	events := []eventstore.EventData{jsonEvent(t, "test.Paid", map[string]int{"amount": 5})}
	first, err := client.Append(ctx, "order-1", events, eventstore.Any())
	if err != nil {
		t.Fatal(err)
	}
	again, err := client.Append(ctx, "order-1", events, eventstore.Any())
	if err != nil || first.Deduplicated || !again.Deduplicated || again.LastPosition != first.LastPosition {
		t.Fatalf("first %+v, again %+v, %v", first, again, err)
	}
	if n := len(collect(t, client.ReadStream(ctx, "order-1", eventstore.ReadOptions{}))); n != 1 {
		t.Fatalf("%d events stored", n)
	}
}

func TestAConflictIsAWrongExpectedRevisionErrorWithTheActualRevision(t *testing.T) {
	server := startServer(t)
	client, ctx := newClient(t, server.address, eventstore.Options{}), testContext(t)
	added := func() []eventstore.EventData { return []eventstore.EventData{jsonEvent(t, "test.Added", struct{}{})} }
	if _, err := client.Append(ctx, "cart-1", append(added(), added()...), eventstore.Any()); err != nil {
		t.Fatal(err)
	}
	_, err := client.Append(ctx, "cart-1", added(), eventstore.Exact(0))
	var conflict *eventstore.WrongExpectedRevisionError
	if !errors.As(err, &conflict) || conflict.ActualRevision == nil || *conflict.ActualRevision != 1 || conflict.Code != codes.Aborted {
		t.Fatalf("got %v", err)
	}
	if status.Code(err) != codes.Aborted {
		t.Fatalf("status.Code reads %v", status.Code(err))
	}
	var general *eventstore.StatusError
	if !errors.As(err, &general) || general.Reason != "WRONG_EXPECTED_REVISION" {
		t.Fatalf("errors.As *StatusError: %v", err)
	}
	_, err = client.Append(ctx, "cart-2", added(), eventstore.StreamExists())
	if !errors.As(err, &conflict) || conflict.ActualRevision != nil {
		t.Fatalf("missing stream: %v", err)
	}
	if result, err := client.Append(ctx, "cart-1", added(), eventstore.Exact(1)); err != nil || result.LastRevision != 2 {
		t.Fatalf("%+v, %v", result, err)
	}
}

func TestMissingStreamsAndBadInputGiveTypedErrors(t *testing.T) {
	server := startServer(t)
	client, ctx := newClient(t, server.address, eventstore.Options{}), testContext(t)
	var notFound *eventstore.StreamNotFoundError
	for _, err := range client.ReadStream(ctx, "nobody", eventstore.ReadOptions{}) {
		if !errors.As(err, &notFound) || notFound.Stream != "nobody" {
			t.Fatalf("got %v", err)
		}
	}
	if notFound == nil {
		t.Fatal("no error for a missing stream")
	}
	_, err := client.Append(ctx, "bad stream\n", []eventstore.EventData{jsonEvent(t, "test.X", 1)}, eventstore.Any())
	var invalid *eventstore.InvalidRequestError
	if !errors.As(err, &invalid) || len(invalid.Violations) == 0 || invalid.Violations[0].GetField() != "stream" {
		t.Fatalf("got %v", err)
	}
}

func TestReadsPageThroughStreamsAndTheLog(t *testing.T) {
	server := startServer(t)
	client, ctx := newClient(t, server.address, eventstore.Options{}), testContext(t)
	for n := range 5 {
		events := []eventstore.EventData{jsonEvent(t, "test.N", n), jsonEvent(t, "test.M", n)}
		if _, err := client.Append(ctx, fmt.Sprintf("s-%d", n%2), events, eventstore.Any()); err != nil {
			t.Fatal(err)
		}
	}
	revisions := func(events []*eventstorev1.RecordedEvent) (all []uint64) {
		for _, e := range events {
			all = append(all, e.GetRevision())
		}
		return all
	}
	positions := func(events []*eventstorev1.RecordedEvent) (all []uint64) {
		for _, e := range events {
			all = append(all, e.GetPosition())
		}
		return all
	}
	if got := revisions(collect(t, client.ReadStream(ctx, "s-0", eventstore.ReadOptions{PageSize: 4}))); fmt.Sprint(got) != "[0 1 2 3 4 5]" {
		t.Fatalf("stream %v", got)
	}
	if got := revisions(collect(t, client.ReadStream(ctx, "s-1", eventstore.ReadOptions{Backwards: true, PageSize: 3}))); fmt.Sprint(got) != "[3 2 1 0]" {
		t.Fatalf("backwards %v", got)
	}
	if got := positions(collect(t, client.ReadLog(ctx, eventstore.ReadOptions{PageSize: 3}))); fmt.Sprint(got) != "[1 2 3 4 5 6 7 8 9 10]" {
		t.Fatalf("log %v", got)
	}
	filtered := eventstore.ReadOptions{PageSize: 2, Filter: &eventstorev1.EventFilter{EventTypes: []string{"test.M"}}}
	if got := positions(collect(t, client.ReadLog(ctx, filtered))); fmt.Sprint(got) != "[2 4 6 8 10]" {
		t.Fatalf("filtered %v", got)
	}
	from := uint64(9)
	if got := positions(collect(t, client.ReadLog(ctx, eventstore.ReadOptions{From: &from}))); fmt.Sprint(got) != "[9 10]" {
		t.Fatalf("from 9 %v", got)
	}
}

func TestAnAppendIsRetriedWhileTheServerRestarts(t *testing.T) {
	server := startServer(t)
	client, ctx := newClient(t, server.address, eventstore.Options{MaxAttempts: 12}), testContext(t)
	if _, err := client.Append(ctx, "retried", []eventstore.EventData{jsonEvent(t, "test.Before", 0)}, eventstore.Any()); err != nil {
		t.Fatal(err)
	}
	server.stop()
	during := jsonEvent(t, "test.During", 1)
	done := make(chan error, 1)
	go func() {
		_, err := client.Append(ctx, "retried", []eventstore.EventData{during}, eventstore.Any())
		done <- err
	}()
	server.start()
	if err := <-done; err != nil {
		t.Fatalf("the append failed across the restart: %v", err)
	}
	events := collect(t, client.ReadStream(ctx, "retried", eventstore.ReadOptions{}))
	if len(events) != 2 || events[1].GetEventId() != during.EventID {
		t.Fatalf("stored %v", events)
	}
}

func TestASubscriptionDeliversHistoryThenLiveAndResumesAcrossARestart(t *testing.T) {
	server := startServer(t)
	client, ctx := newClient(t, server.address, eventstore.Options{}), testContext(t)
	appendN := func(stream string, n int) {
		events := make([]eventstore.EventData, n)
		for i := range events {
			events[i] = jsonEvent(t, "test.N", i)
		}
		if _, err := client.Append(ctx, stream, events, eventstore.Any()); err != nil {
			t.Fatal(err)
		}
	}
	appendN("a", 3)
	next, stop := pull(client.Subscribe(ctx, eventstore.SubscribeOptions{HeartbeatInterval: 500 * time.Millisecond}))
	defer stop()
	for want := uint64(1); want <= 3; want++ {
		if item := next(t); item.Kind != eventstore.ItemEvent || item.Position != want {
			t.Fatalf("history: %+v", item)
		}
	}
	if item := next(t); item.Kind != eventstore.ItemCaughtUp || item.Position != 3 {
		t.Fatalf("caught up: %+v", item)
	}
	appendN("b", 1)
	if item := next(t); item.Kind != eventstore.ItemEvent || item.Position != 4 {
		t.Fatalf("live: %+v", item)
	}
	server.stop()
	server.start()
	appendN("b", 2)
	var after []uint64
	for len(after) < 2 {
		if item := next(t); item.Kind == eventstore.ItemEvent {
			after = append(after, item.Position)
		}
	}
	if fmt.Sprint(after) != "[5 6]" {
		t.Fatalf("after the restart: %v", after)
	}
}

func TestAStreamSubscriptionFromTheEndGetsOnlyNewEvents(t *testing.T) {
	server := startServer(t)
	client, ctx := newClient(t, server.address, eventstore.Options{}), testContext(t)
	for _, stream := range []string{"room-1", "room-2"} {
		if _, err := client.Append(ctx, stream, []eventstore.EventData{jsonEvent(t, "test.Old", 0)}, eventstore.Any()); err != nil {
			t.Fatal(err)
		}
	}
	next, stop := pull(client.Subscribe(ctx, eventstore.SubscribeOptions{Stream: "room-1", FromEnd: true}))
	defer stop()
	if item := next(t); item.Kind != eventstore.ItemCaughtUp {
		t.Fatalf("first: %+v", item)
	}
	for _, stream := range []string{"room-2", "room-1"} {
		if _, err := client.Append(ctx, stream, []eventstore.EventData{jsonEvent(t, "test.New", 1)}, eventstore.Any()); err != nil {
			t.Fatal(err)
		}
	}
	item := next(t)
	if item.Kind != eventstore.ItemEvent || item.Event.GetStream() != "room-1" || item.Event.GetRevision() != 1 {
		t.Fatalf("got %+v", item)
	}
}

func TestCancellingTheContextEndsASubscription(t *testing.T) {
	server := startServer(t)
	client := newClient(t, server.address, eventstore.Options{})
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	var kinds []eventstore.ItemKind
	for item, err := range client.Subscribe(ctx, eventstore.SubscribeOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, item.Kind)
		cancel()
	}
	if len(kinds) != 1 || kinds[0] != eventstore.ItemCaughtUp {
		t.Fatalf("got %v", kinds)
	}
}

func TestAServerNeverReachedFailsAtOnceNamingTheAddress(t *testing.T) {
	server := startServer(t)
	address := server.address
	server.stop()
	client, ctx := newClient(t, address, eventstore.Options{}), testContext(t)
	started := time.Now()
	_, err := client.Append(ctx, "s", []eventstore.EventData{jsonEvent(t, "test.X", 0)}, eventstore.Any())
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "cannot connect to "+address) {
		t.Fatalf("got %v", err)
	}
	if elapsed := time.Since(started); elapsed > 5*time.Second {
		t.Fatalf("took %v", elapsed)
	}
}

func TestAPIKeysAndTLS(t *testing.T) {
	dir := t.TempDir()
	openssl := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		"-keyout", "server.key", "-out", "server.crt", "-days", "2", "-subj", "/CN=localhost",
		"-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
	openssl.Dir = dir
	if out, err := openssl.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v %s", err, out)
	}
	out, err := exec.Command("node", serverMain(t), "keys", "create", "--id", "go", "--tenant", "go-keys", "--role", "write").Output()
	if err != nil {
		t.Fatal(err)
	}
	var made struct {
		Key   string          `json:"key"`
		Entry json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(string(out), "\n", 2)[0]), &made); err != nil {
		t.Fatal(err)
	}
	keysFile := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(keysFile, []byte(`{"keys":[`+string(made.Entry)+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	server := startServer(t, "--keys-file", keysFile, "--tls-cert", filepath.Join(dir, "server.crt"), "--tls-key", filepath.Join(dir, "server.key"))
	pem, err := os.ReadFile(filepath.Join(dir, "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	ctx := testContext(t)
	event := []eventstore.EventData{jsonEvent(t, "test.X", 0)}

	keyed := newClient(t, server.address, eventstore.Options{Tenant: "go-keys", APIKey: made.Key, TLS: &tls.Config{RootCAs: roots}})
	if result, err := keyed.Append(ctx, "s", event, eventstore.Any()); err != nil || result.LastPosition != 1 {
		t.Fatalf("with the key: %+v, %v", result, err)
	}
	anonymous := newClient(t, server.address, eventstore.Options{Tenant: "go-keys", TLS: &tls.Config{RootCAs: roots}})
	if _, err := anonymous.Append(ctx, "s", event, eventstore.Any()); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without a key: %v", err)
	}
	plaintext := newClient(t, server.address, eventstore.Options{Tenant: "go-keys", APIKey: made.Key})
	if _, err := plaintext.Append(ctx, "s", event, eventstore.Any()); status.Code(err) != codes.Unavailable {
		t.Fatalf("plaintext to a TLS server: %v", err)
	}
}

// pull turns a subscription into a next function that fails the test on an error or after 60 s of waiting.
func pull(items func(func(eventstore.SubscriptionItem, error) bool)) (func(*testing.T) eventstore.SubscriptionItem, func()) {
	type result struct {
		item eventstore.SubscriptionItem
		err  error
	}
	results, done := make(chan result), make(chan struct{})
	go func() {
		for item, err := range items {
			select {
			case results <- result{item, err}:
			case <-done:
				return
			}
		}
	}()
	next := func(t *testing.T) eventstore.SubscriptionItem {
		t.Helper()
		select {
		case r := <-results:
			if r.err != nil {
				t.Fatal(r.err)
			}
			return r.item
		case <-time.After(60 * time.Second):
			t.Fatal("nothing from the subscription within 60 s")
			return eventstore.SubscriptionItem{}
		}
	}
	return next, func() { close(done) }
}
