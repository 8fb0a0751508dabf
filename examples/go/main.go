// The smallest complete Go client of the EduPulse event store.
//
// Generate the code once (from the repository root), with buf and the Go plugins:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	npx buf generate proto --template examples/go/buf.gen.yaml --output examples/go
//
// Run: (cd examples/go && go run . 127.0.0.1:50051)
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	eventsv1 "edupulse.dev/examples/go/gen/edupulse/events/v1"
	eventstorev1 "edupulse.dev/examples/go/gen/edupulse/eventstore/v1"
)

func main() {
	address := "127.0.0.1:50051"
	if len(os.Args) > 1 {
		address = os.Args[1]
	}
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	store := eventstorev1.NewEventStoreServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Append a typed domain event, encoded as protobuf. The event id makes retries safe.
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80
	badge, _ := proto.Marshal(&eventsv1.BadgeAwarded{BadgeId: "first-quiz", LearnerId: "learner-1", Reason: "Finished a first quiz"})
	result, err := store.Append(ctx, &eventstorev1.AppendRequest{
		Tenant: "school-a", Stream: "learner-1",
		Events: []*eventstorev1.ProposedEvent{{
			EventId:     fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16]),
			Type:        "edupulse.events.v1.BadgeAwarded",
			ContentType: "application/x-protobuf",
			Data:        badge,
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("appended at position %d\n", result.LastPosition)

	// Subscribe from the start: history, then caught_up (live events would follow).
	subscription, err := store.Subscribe(ctx, &eventstorev1.SubscribeRequest{Tenant: "school-a"})
	if err != nil {
		log.Fatal(err)
	}
	for {
		message, err := subscription.Recv()
		if err != nil {
			log.Fatal(err)
		}
		switch content := message.Content.(type) {
		case *eventstorev1.SubscribeResponse_Events:
			for _, event := range content.Events.Events {
				if event.Type != "edupulse.events.v1.BadgeAwarded" {
					continue
				}
				// Domain events come as protobuf or as proto3 JSON: the content type says which.
				awarded := &eventsv1.BadgeAwarded{}
				decode := proto.Unmarshal
				if event.ContentType == "application/json" {
					decode = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal
				}
				if err := decode(event.Data, awarded); err != nil {
					log.Fatalf("event %s: %v", event.EventId, err)
				}
				fmt.Printf("%d: badge %s for %s\n", event.Position, awarded.BadgeId, awarded.LearnerId)
			}
		case *eventstorev1.SubscribeResponse_CaughtUp:
			fmt.Printf("caught up at position %d\n", content.CaughtUp.Position)
			return
		}
	}
}
