"""The smallest complete Python program using the EduPulse event store's Python client.

Install the client (from the repository root):  pip install ./clients/python
Run:  python examples/python/append_and_subscribe.py 127.0.0.1:50051
"""

import sys

from google.protobuf import json_format

from edupulse.events.v1 import events_pb2
from edupulse_eventstore import CaughtUp, EventData, EventStoreClient, RecordedEvent

address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
with EventStoreClient(address, tenant="school-a") as store:
    # A typed domain event, encoded as protobuf. Its id is made here, once: retries are safe.
    badge = events_pb2.BadgeAwarded(badge_id="first-quiz", learner_id="learner-1", reason="Finished a first quiz")
    result = store.append("learner-1", [EventData.protobuf(badge)])
    print(f"appended at position {result.last_position}")

    # Subscribe from the start: history, then CaughtUp (live events would follow).
    with store.subscribe() as subscription:
        for item in subscription:
            if isinstance(item, CaughtUp):
                print(f"caught up at position {item.position}")
                break
            if isinstance(item, RecordedEvent) and item.type == "edupulse.events.v1.BadgeAwarded":
                # Domain events come as protobuf or as proto3 JSON: the content type says which.
                if item.content_type == "application/json":
                    awarded = json_format.Parse(item.data, events_pb2.BadgeAwarded(), ignore_unknown_fields=True)
                else:
                    awarded = events_pb2.BadgeAwarded.FromString(item.data)
                print(f"{item.position}: badge {awarded.badge_id} for {awarded.learner_id}")
