"""Events to append: their ids are made when they are built, so every retry sends the same ones."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from google.protobuf.message import Message

from edupulse.eventstore.v1 import event_pb2

JSON = "application/json"
PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class EventData:
    """An event to append. Build it once and resend the same object: the store deduplicates by ``event_id``."""

    type: str
    data: bytes
    content_type: str = JSON
    metadata: Mapping[str, str] = field(default_factory=dict)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    correlation_id: str = ""
    causation_id: str = ""
    # A personal event names its data subject; erasing the subject makes its data unreadable.
    data_subject_id: str = ""

    @classmethod
    def json(cls, type: str, value: Any, **options: Any) -> EventData:
        """An event whose data is ``value`` as JSON."""
        return cls(type=type, data=json.dumps(value, separators=(",", ":")).encode(), content_type=JSON, **options)

    @classmethod
    def protobuf(cls, message: Message, type: str | None = None, **options: Any) -> EventData:
        """An event whose data is a protobuf message; its type defaults to the message's full name."""
        return cls(
            type=type or message.DESCRIPTOR.full_name,
            data=message.SerializeToString(),
            content_type=PROTOBUF,
            **options,
        )

    def to_proposed(self) -> event_pb2.ProposedEvent:
        return event_pb2.ProposedEvent(
            event_id=self.event_id,
            type=self.type,
            content_type=self.content_type,
            data=self.data,
            metadata=dict(self.metadata),
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            contains_personal_data=self.data_subject_id != "",
            data_subject_id=self.data_subject_id,
        )


def decode_json(event: event_pb2.RecordedEvent) -> Any:
    """The data of a JSON event, parsed."""
    if event.content_type != JSON:
        raise ValueError(f"event {event.event_id} is {event.content_type!r}, not JSON")
    return json.loads(event.data)
