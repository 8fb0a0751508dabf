"""The client: appends retried safely, reads paged, subscriptions resumed, errors typed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator, Literal, Sequence, TypeVar

import grpc

from edupulse.eventstore.v1 import event_pb2
from edupulse.eventstore.v1 import event_store_service_pb2 as api
from edupulse.eventstore.v1 import event_store_service_pb2_grpc

from .errors import EventStoreError, error_from
from .event_data import EventData
from .event_filter import event_filter
from .expected_revision import ExpectedRevision, to_wire
from .retries import RETRYABLE, backoff_seconds
from .subscription import Subscription

Response = TypeVar("Response")
Direction = Literal["forwards", "backwards"]


@dataclass(frozen=True)
class AppendResult:
    """Where the events went. ``deduplicated`` means a retry found them stored already: nothing was written."""

    first_position: int
    last_position: int
    first_revision: int
    last_revision: int
    deduplicated: bool


@dataclass(frozen=True)
class StreamInfo:
    """A stream's state; ``revision`` is None for a stream that has no events."""

    exists: bool
    revision: int | None
    last_position: int | None
    log_position: int
    deleted: bool
    tombstoned: bool


class EventStoreClient:
    """A client of one tenant of the EduPulse event store.

    Unary calls are retried (``max_attempts`` in all, with backoff) after
    failures that may not have reached the store; an append resends the same
    event ids, so a retry is never stored twice. Until the server has answered
    once, a failure to connect is raised at once, naming the address and the
    cause. Use it as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        address: str = "127.0.0.1:50051",
        *,
        tenant: str = "default",
        api_key: str | None = None,
        tls: bool = False,
        root_certificates: bytes | None = None,
        client_certificate: bytes | None = None,
        client_key: bytes | None = None,
        timeout: float = 10.0,
        max_attempts: int = 5,
    ) -> None:
        """``tls`` (implied by any certificate) encrypts the connection; ``root_certificates`` (PEM) replaces
        the system's CAs; ``client_certificate`` and ``client_key`` (PEM) are for mutual TLS."""
        self.address = address
        self.tenant = tenant
        self._timeout = timeout
        self._max_attempts = max(1, max_attempts)
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        options = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 5000)]
        if tls or root_certificates or client_certificate:
            credentials = grpc.ssl_channel_credentials(root_certificates, client_key, client_certificate)
            self._channel = grpc.secure_channel(address, credentials, options)
        else:
            self._channel = grpc.insecure_channel(address, options)
        self._stub = event_store_service_pb2_grpc.EventStoreServiceStub(self._channel)
        self._answered = False

    def __enter__(self) -> EventStoreClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def append(
        self,
        stream: str,
        events: Sequence[EventData],
        *,
        expected_revision: ExpectedRevision = "any",
    ) -> AppendResult:
        """Appends the events to the stream, atomically, if it is at ``expected_revision``.

        Raises ``WrongExpectedRevisionError`` (with the actual revision) when it is not.
        """
        request = api.AppendRequest(
            tenant=self.tenant,
            stream=stream,
            expected_revision=to_wire(expected_revision),
            events=[event.to_proposed() for event in events],
        )
        response = self._unary(self._stub.Append, request)
        return AppendResult(
            response.first_position,
            response.last_position,
            response.first_revision,
            response.last_revision,
            response.deduplicated,
        )

    def read_stream(
        self,
        stream: str,
        *,
        from_revision: int | None = None,
        direction: Direction = "forwards",
        page_size: int = 0,
    ) -> Iterator[event_pb2.RecordedEvent]:
        """The stream's events from ``from_revision`` (inclusive) on, fetched a page at a time as you iterate.

        Raises ``StreamNotFoundError`` when the stream does not exist.
        """

        def fetch(start: int | None) -> tuple[Sequence[event_pb2.RecordedEvent], int | None]:
            request = api.ReadStreamRequest(
                tenant=self.tenant, stream=stream, direction=_direction(direction), max_count=page_size
            )
            if start is not None:
                request.from_revision = start
            page = self._unary(self._stub.ReadStream, request)
            return page.events, page.next_revision if page.HasField("next_revision") else None

        return _pages(from_revision, fetch)

    def read_log(
        self,
        *,
        from_position: int | None = None,
        direction: Direction = "forwards",
        streams: Sequence[str] = (),
        stream_prefixes: Sequence[str] = (),
        event_types: Sequence[str] = (),
        event_type_prefixes: Sequence[str] = (),
        page_size: int = 0,
    ) -> Iterator[event_pb2.RecordedEvent]:
        """The tenant's events in log order from ``from_position`` (inclusive), optionally filtered, paged."""
        selection = event_filter(streams, stream_prefixes, event_types, event_type_prefixes)

        def fetch(start: int | None) -> tuple[Sequence[event_pb2.RecordedEvent], int | None]:
            request = api.ReadLogRequest(
                tenant=self.tenant, direction=_direction(direction), max_count=page_size, filter=selection
            )
            if start is not None:
                request.from_position = start
            page = self._unary(self._stub.ReadLog, request)
            return page.events, page.next_position if page.HasField("next_position") else None

        return _pages(from_position, fetch)

    def stream_info(self, stream: str) -> StreamInfo:
        """The stream's revision and state, without reading its events."""
        info = self._unary(self._stub.GetStreamInfo, api.GetStreamInfoRequest(tenant=self.tenant, stream=stream))
        return StreamInfo(
            exists=info.exists,
            revision=info.revision if info.HasField("revision") else None,
            last_position=info.last_position if info.HasField("last_position") else None,
            log_position=info.log_position,
            deleted=info.deleted,
            tombstoned=info.tombstoned,
        )

    def subscribe(
        self,
        stream: str = "",
        *,
        after_position: int | None = None,
        after_revision: int | None = None,
        from_end: bool = False,
        streams: Sequence[str] = (),
        stream_prefixes: Sequence[str] = (),
        event_types: Sequence[str] = (),
        event_type_prefixes: Sequence[str] = (),
        heartbeat_interval_ms: int = 5000,
        max_reconnects: int | None = None,
    ) -> Subscription:
        """Subscribes to the tenant's log, or to one stream: history first, then ``CaughtUp``, then live events.

        Starts at the beginning, after a position (log) or revision (stream) you
        processed last, or at the end (``from_end``). Reconnects for ever unless
        ``max_reconnects`` is given.
        """
        if stream and after_position is not None:
            raise ValueError("after_position is for log subscriptions; use after_revision for a stream")
        if not stream and after_revision is not None:
            raise ValueError("after_revision is for stream subscriptions; use after_position for the log")

        def start() -> tuple[str, int]:
            if after_position is not None:
                return "position", after_position
            if after_revision is not None:
                return "revision", after_revision
            if from_end:
                # Pinned to a concrete place, so that a reconnect before the first event resumes there.
                if stream:
                    revision = self.stream_info(stream).revision
                    return ("revision", revision) if revision is not None else ("start", 0)
                return "position", self._log_position()
            return "start", 0

        selection = event_filter(streams, stream_prefixes, event_types, event_type_prefixes)
        return Subscription(self, stream, start, selection, heartbeat_interval_ms, max_reconnects)

    def _log_position(self) -> int:
        request = api.ReadLogRequest(tenant=self.tenant, direction=api.READ_DIRECTION_BACKWARDS, max_count=1)
        return self._unary(self._stub.ReadLog, request).log_position

    def _unary(self, method: Callable[..., Response], request: object) -> Response:
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = method(request, timeout=self._timeout, metadata=self._metadata)
                self._answered = True
                return response
            except grpc.RpcError as error:
                code = error.code()
                if code == grpc.StatusCode.UNAVAILABLE and not self._answered:
                    cause = error.details()
                    raise EventStoreError(f"cannot connect to {self.address}: {cause}", code) from error
                if code != grpc.StatusCode.UNAVAILABLE:
                    self._answered = True
                if code not in RETRYABLE or attempt == self._max_attempts:
                    raise error_from(error) from error
                time.sleep(backoff_seconds(attempt))
        raise AssertionError("unreachable")


def _pages(
    start: int | None, fetch: Callable[[int | None], tuple[Sequence[event_pb2.RecordedEvent], int | None]]
) -> Iterator[event_pb2.RecordedEvent]:
    """The events of the pages `fetch` returns, each page starting where the last said the next one does."""
    while True:
        events, start = fetch(start)
        yield from events
        if start is None:
            return


def _direction(direction: Direction) -> api.ReadDirection:
    return api.READ_DIRECTION_BACKWARDS if direction == "backwards" else api.READ_DIRECTION_FORWARDS
