# step: list: the services, found by server reflection
grpcurl -plaintext 127.0.0.1:50051 list

# step: describe-service: the API, with its documentation
grpcurl -plaintext 127.0.0.1:50051 describe edupulse.eventstore.v1.EventStoreService

# step: describe-envelope: the recorded event, field by field
grpcurl -plaintext 127.0.0.1:50051 describe edupulse.eventstore.v1.RecordedEvent

# step: health: the standard gRPC health check
grpcurl -plaintext 127.0.0.1:50051 grpc.health.v1.Health/Check

# step: append: a JSON event (bytes travel base64-encoded in JSON); run it twice to see deduplication
grpcurl -plaintext -d '{
  "tenant": "school-a",
  "stream": "lesson-0190c3b2",
  "expectedRevision": {"noStream": {}},
  "events": [{
    "eventId": "0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11",
    "type": "edupulse.events.v1.LessonPublished",
    "contentType": "application/json",
    "data": "'"$(printf '{"lessonId":"0190c3b2","title":"Fractions"}' | base64 | tr -d '\n')"'"
  }]
}' 127.0.0.1:50051 edupulse.eventstore.v1.EventStoreService/Append

# step: read-stream: -emit-defaults shows zero values too (revision 0 is otherwise left out)
grpcurl -plaintext -emit-defaults -d '{"tenant": "school-a", "stream": "lesson-0190c3b2"}' \
  127.0.0.1:50051 edupulse.eventstore.v1.EventStoreService/ReadStream

# step: subscribe: history, caught-up, then live events and heartbeats; stops after 5 seconds
grpcurl -plaintext -max-time 5 -d '{"tenant": "school-a", "heartbeatIntervalMs": 1000}' \
  127.0.0.1:50051 edupulse.eventstore.v1.EventStoreService/Subscribe

# step: live-append: meanwhile, in another terminal, an event the subscription receives live
grpcurl -plaintext -d '{
  "tenant": "school-a",
  "stream": "learner-1",
  "events": [{
    "eventId": "0190c3b2-8a1e-7b2c-8d3f-4e5a6b7c8d9e",
    "type": "edupulse.events.v1.BadgeAwarded",
    "contentType": "application/json",
    "data": "'"$(printf '{"badgeId":"first-lesson","learnerId":"learner-1"}' | base64 | tr -d '\n')"'"
  }]
}' 127.0.0.1:50051 edupulse.eventstore.v1.EventStoreService/Append

# step: create-group: a consumer group over school-a's log, for competing consumers
grpcurl -plaintext -d '{"tenant": "school-a", "name": "mailer"}' \
  127.0.0.1:50051 edupulse.eventstore.v1.ConsumerGroupService/CreateConsumerGroup

# step: consume: join the group (-d @ reads the messages from standard input), then ack both events
(echo '{"join": {"tenant": "school-a", "group": "mailer", "credit": 10}}'; sleep 1; echo '{"acks": ["1", "2"]}'; sleep 1) |
  grpcurl -plaintext -d @ 127.0.0.1:50051 edupulse.eventstore.v1.ConsumerGroupService/Consume

# step: describe-group: where the group stands; its checkpoint is 2 once both acks are saved
grpcurl -plaintext -d '{"tenant": "school-a", "name": "mailer"}' \
  127.0.0.1:50051 edupulse.eventstore.v1.ConsumerGroupService/DescribeConsumerGroup

# step: erase: erase a data subject (GDPR): its personal events read back erased; recorded on "$erasures"
grpcurl -plaintext -d '{"tenant": "school-a", "dataSubjectId": "learner-1"}' \
  127.0.0.1:50051 edupulse.eventstore.v1.EventStoreService/EraseDataSubject

# step: retention: keep the last 100 events of a stream, then see it in the stream's info
grpcurl -plaintext -d '{"tenant": "school-a", "stream": "learner-1", "retention": {"maxCount": "100"}}' \
  127.0.0.1:50051 edupulse.eventstore.v1.EventStoreService/SetStreamRetention
grpcurl -plaintext -d '{"tenant": "school-a", "stream": "learner-1"}' \
  127.0.0.1:50051 edupulse.eventstore.v1.EventStoreService/GetStreamInfo

# step: invalid: a bad request gets INVALID_ARGUMENT with a google.rpc.BadRequest detail
grpcurl -plaintext -d '{"stream": "lesson 1"}' \
  127.0.0.1:50051 edupulse.eventstore.v1.EventStoreService/ReadStream
