"""Expected revisions: the condition on a stream under which an append goes ahead."""

from __future__ import annotations

from typing import Literal, Union

from google.protobuf import empty_pb2

from edupulse.eventstore.v1 import event_store_service_pb2 as api

ExpectedRevision = Union[int, Literal["any", "no_stream", "stream_exists"]]
"""``"any"`` (no check), ``"no_stream"``, ``"stream_exists"``, or the exact revision of the stream's last event."""


def to_wire(expected: ExpectedRevision) -> api.ExpectedRevision | None:
    if isinstance(expected, bool):
        raise TypeError("expected_revision must be an int or 'any', 'no_stream', 'stream_exists'")
    if isinstance(expected, int):
        if expected < 0:
            raise ValueError("expected_revision must not be negative")
        return api.ExpectedRevision(exact=expected)
    if expected == "any":
        return None
    if expected == "no_stream":
        return api.ExpectedRevision(no_stream=empty_pb2.Empty())
    if expected == "stream_exists":
        return api.ExpectedRevision(stream_exists=empty_pb2.Empty())
    raise ValueError(f"unknown expected_revision {expected!r}")
