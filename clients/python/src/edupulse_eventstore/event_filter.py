"""Selections of events by stream and type, for log reads and subscriptions."""

from __future__ import annotations

from typing import Sequence

from edupulse.eventstore.v1 import event_store_service_pb2 as api


def event_filter(
    streams: Sequence[str] = (),
    stream_prefixes: Sequence[str] = (),
    event_types: Sequence[str] = (),
    event_type_prefixes: Sequence[str] = (),
) -> api.EventFilter | None:
    """A filter matching any of the streams, stream prefixes, types or type prefixes given; None for none."""
    if not (streams or stream_prefixes or event_types or event_type_prefixes):
        return None
    return api.EventFilter(
        streams=list(streams),
        stream_prefixes=list(stream_prefixes),
        event_types=list(event_types),
        event_type_prefixes=list(event_type_prefixes),
    )
