// The smallest complete Go program using the EduPulse event store's Go client
// (clients/go): append a typed domain event, then subscribe from the start.
//
// Run: (cd examples/go && go run . 127.0.0.1:50051)
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	eventstore "edupulse.dev/eventstore/clients/go"
	eventsv1 "edupulse.dev/eventstore/clients/go/gen/edupulse/events/v1"
)

func main() {
	address := "127.0.0.1:50051"
	if len(os.Args) > 1 {
		address = os.Args[1]
	}
	store, err := eventstore.New(address, eventstore.Options{Tenant: "school-a"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A typed domain event, encoded as protobuf. Its id is made here, once: retries are safe.
	badge, err := eventstore.ProtobufEvent(&eventsv1.BadgeAwarded{BadgeId: "first-quiz", LearnerId: "learner-1", Reason: "Finished a first quiz"})
	if err != nil {
		log.Fatal(err)
	}
	result, err := store.Append(ctx, "learner-1", []eventstore.EventData{badge}, eventstore.Any())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("appended at position %d\n", result.LastPosition)

	// Subscribe from the start: history, then "caught up" (live events would follow).
	for item, err := range store.Subscribe(ctx, eventstore.SubscribeOptions{}) {
		if err != nil {
			log.Fatal(err)
		}
		if item.Kind == eventstore.ItemCaughtUp {
			fmt.Printf("caught up at position %d\n", item.Position)
			return
		}
		if event := item.Event; event != nil && event.GetType() == "edupulse.events.v1.BadgeAwarded" {
			// Domain events come as protobuf or as proto3 JSON: the content type says which.
			awarded, decode := &eventsv1.BadgeAwarded{}, proto.Unmarshal
			if event.GetContentType() == eventstore.ContentTypeJSON {
				decode = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal
			}
			if err := decode(event.GetData(), awarded); err != nil {
				log.Fatalf("event %s: %v", event.GetEventId(), err)
			}
			fmt.Printf("%d: badge %s for %s\n", event.GetPosition(), awarded.GetBadgeId(), awarded.GetLearnerId())
		}
	}
}
