"""Python client of the EduPulse event store.

    from edupulse_eventstore import EventStoreClient, EventData

    with EventStoreClient("127.0.0.1:50051", tenant="school-a") as store:
        store.append("learner-1", [EventData.json("test.Greeting", {"hello": "world"})])
        for event in store.read_stream("learner-1"):
            print(event.revision, event.type, event.data)
"""

from edupulse.eventstore.v1.event_pb2 import RecordedEvent

from .client import AppendResult, EventStoreClient, StreamInfo
from .errors import (
    DuplicateEventIdError,
    EventStoreError,
    InvalidRequestError,
    StreamNotFoundError,
    WrongExpectedRevisionError,
)
from .event_data import EventData, decode_json
from .expected_revision import ExpectedRevision
from .subscription import CaughtUp, FellBehind, Subscription, SubscriptionItem

__all__ = [
    "AppendResult",
    "CaughtUp",
    "DuplicateEventIdError",
    "EventData",
    "EventStoreClient",
    "EventStoreError",
    "ExpectedRevision",
    "FellBehind",
    "InvalidRequestError",
    "RecordedEvent",
    "StreamInfo",
    "StreamNotFoundError",
    "Subscription",
    "SubscriptionItem",
    "WrongExpectedRevisionError",
    "decode_json",
]
