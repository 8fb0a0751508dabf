package eventstore

import (
	"crypto/rand"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"

	eventstorev1 "edupulse.dev/eventstore/clients/go/gen/edupulse/eventstore/v1"
)

// Content types of event data.
const (
	ContentTypeJSON     = "application/json"
	ContentTypeProtobuf = "application/x-protobuf"
)

// EventData is an event to append. Its EventID is made when it is built:
// resend the same value and the store stores it once.
type EventData struct {
	EventID       string
	Type          string
	ContentType   string
	Data          []byte
	Metadata      map[string]string
	CorrelationID string
	CausationID   string
	// DataSubjectID marks a personal event: erasing the subject makes its data unreadable.
	DataSubjectID string
}

// JSONEvent is an event whose data is value encoded as JSON.
func JSONEvent(eventType string, value any) (EventData, error) {
	data, err := json.Marshal(value)
	if err != nil {
		return EventData{}, fmt.Errorf("encoding %s as JSON: %w", eventType, err)
	}
	return EventData{EventID: NewEventID(), Type: eventType, ContentType: ContentTypeJSON, Data: data}, nil
}

// ProtobufEvent is an event whose data is message; its type is the message's full name.
func ProtobufEvent(message proto.Message) (EventData, error) {
	data, err := proto.Marshal(message)
	if err != nil {
		return EventData{}, err
	}
	eventType := string(message.ProtoReflect().Descriptor().FullName())
	return EventData{EventID: NewEventID(), Type: eventType, ContentType: ContentTypeProtobuf, Data: data}, nil
}

// NewEventID is a random (version 4) UUID.
func NewEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (e EventData) proposed() *eventstorev1.ProposedEvent {
	return &eventstorev1.ProposedEvent{
		EventId:              e.EventID,
		Type:                 e.Type,
		ContentType:          e.ContentType,
		Data:                 e.Data,
		Metadata:             e.Metadata,
		CorrelationId:        e.CorrelationID,
		CausationId:          e.CausationID,
		ContainsPersonalData: e.DataSubjectID != "",
		DataSubjectId:        e.DataSubjectID,
	}
}
