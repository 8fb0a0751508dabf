"""The smallest complete Python client of the EduPulse event store.

Generate the code once (from the repository root):
    pip install grpcio==1.85.1 grpcio-tools==1.85.1
    cd proto && python -m grpc_tools.protoc -I . --python_out=../examples/python/gen \
        --grpc_python_out=../examples/python/gen $(find edupulse -name '*.proto')

Run:  python examples/python/append_and_subscribe.py 127.0.0.1:50051
"""

import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402

from edupulse.events.v1 import events_pb2  # noqa: E402
from edupulse.eventstore.v1 import event_pb2, event_store_service_pb2 as api, event_store_service_pb2_grpc  # noqa: E402

address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
store = event_store_service_pb2_grpc.EventStoreServiceStub(grpc.insecure_channel(address))

# Append a typed domain event, encoded as protobuf. The event id makes retries safe.
badge = events_pb2.BadgeAwarded(badge_id="first-quiz", learner_id="learner-1", reason="Finished a first quiz")
result = store.Append(
    api.AppendRequest(
        tenant="school-a",
        stream="learner-1",
        events=[
            event_pb2.ProposedEvent(
                event_id=str(uuid.uuid4()),
                type="edupulse.events.v1.BadgeAwarded",
                content_type="application/x-protobuf",
                data=badge.SerializeToString(),
            )
        ],
    ),
    timeout=10,
)
print(f"appended at position {result.last_position}")

# Subscribe from the start: history, then caught_up (live events would follow).
for message in store.Subscribe(api.SubscribeRequest(tenant="school-a")):
    kind = message.WhichOneof("content")
    if kind == "events":
        for event in message.events.events:
            if event.type == "edupulse.events.v1.BadgeAwarded":
                # Domain events come as protobuf or as proto3 JSON: the content type says which.
                if event.content_type == "application/json":
                    awarded = json_format.Parse(event.data, events_pb2.BadgeAwarded(), ignore_unknown_fields=True)
                else:
                    awarded = events_pb2.BadgeAwarded.FromString(event.data)
                print(f"{event.position}: badge {awarded.badge_id} for {awarded.learner_id}")
    elif kind == "caught_up":
        print(f"caught up at position {message.caught_up.position}")
        break
