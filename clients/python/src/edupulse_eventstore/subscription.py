"""A subscription that survives disconnects and server restarts, delivering every event once, in order."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Union

import grpc

from edupulse.eventstore.v1 import event_pb2
from edupulse.eventstore.v1 import event_store_service_pb2 as api

from .errors import error_from
from .retries import RECONNECTABLE, backoff_seconds

if TYPE_CHECKING:
    from .client import EventStoreClient


@dataclass(frozen=True)
class CaughtUp:
    """History is delivered; live events follow. Comes again after a reconnect or a fall-behind."""

    position: int


@dataclass(frozen=True)
class FellBehind:
    """The subscriber read more slowly than events were committed; it continues from disk, losing nothing."""

    position: int


SubscriptionItem = Union[event_pb2.RecordedEvent, CaughtUp, FellBehind]


class Subscription:
    """Iterate it for events, ``CaughtUp`` and ``FellBehind``; ``close()`` (or leaving a ``with``) ends it.

    It reconnects with exponential backoff and resumes after the last event it
    delivered (by position, or by revision for a stream subscription); a
    connection silent for three heartbeat intervals counts as broken.
    """

    def __init__(
        self,
        client: EventStoreClient,
        stream: str,
        start: Callable[[], tuple[str, int]],
        event_filter: api.EventFilter | None,
        heartbeat_interval_ms: int,
        max_reconnects: int | None,
    ) -> None:
        self._client = client
        self._stream = stream
        self._start = start
        self._filter = event_filter
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._max_reconnects = max_reconnects
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._call: grpc.Future[Any] | None = None
        self.position = 0
        """The position of the last event delivered or passed: where a new subscription would resume."""

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Ends the subscription; an iteration in progress stops (from any thread)."""
        self._closed.set()
        with self._lock:
            if self._call is not None:
                self._call.cancel()

    def __iter__(self) -> Iterator[SubscriptionItem]:
        kind, after = self._start()
        revision = after if kind == "revision" else None
        self.position = after if kind == "position" else 0
        failures = 0
        while not self._closed.is_set():
            request = api.SubscribeRequest(
                tenant=self._client.tenant,
                stream=self._stream,
                filter=self._filter,
                heartbeat_interval_ms=self._heartbeat_interval_ms,
            )
            if self._stream and revision is not None:
                request.after_revision = revision
            elif not self._stream and self.position > 0:
                request.after_position = self.position
            else:
                request.start.SetInParent()
            silent = _SilenceWatch(self._heartbeat_interval_ms * 3 / 1000)
            try:
                with self._lock:
                    if self._closed.is_set():
                        return
                    call = self._client._stub.Subscribe(request, metadata=self._client._metadata)
                    self._call = call
                silent.watch(call)
                messages = iter(call)
                while True:
                    # The silence counts only while waiting for the server, not while the caller works.
                    silent.waiting()
                    message = next(messages, None)
                    silent.working()
                    if message is None:
                        break
                    failures = 0
                    content = message.WhichOneof("content")
                    if content == "events":
                        for event in message.events.events:
                            self.position = event.position
                            revision = event.revision
                            yield event
                    elif content == "caught_up":
                        self.position = max(self.position, message.caught_up.position)
                        yield CaughtUp(message.caught_up.position)
                    elif content == "checkpoint":
                        self.position = max(self.position, message.checkpoint.position)
                    elif content == "fell_behind":
                        yield FellBehind(message.fell_behind.position)
            except grpc.RpcError as error:
                if self._closed.is_set():
                    return
                if error.code() not in RECONNECTABLE and not silent.fired:
                    raise error_from(error) from error
            finally:
                silent.stop()
                # Also when the caller stops iterating (a break, or the iterator dropped): the server's call ends too.
                with self._lock:
                    if self._call is not None:
                        self._call.cancel()
                        self._call = None
            failures += 1
            if self._max_reconnects is not None and failures > self._max_reconnects:
                raise ConnectionError(f"subscription gave up after {self._max_reconnects} reconnects")
            self._closed.wait(backoff_seconds(failures))


class _SilenceWatch:
    """Cancels a call that has heard nothing from the server for ``timeout`` seconds."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._last = time.monotonic()
        self._working = False
        self._stopped = threading.Event()
        self.fired = False

    def watch(self, call: grpc.Future[Any]) -> None:
        self._last = time.monotonic()
        threading.Thread(target=self._run, args=(call,), daemon=True).start()

    def waiting(self) -> None:
        self._last = time.monotonic()
        self._working = False

    def working(self) -> None:
        self._working = True

    def stop(self) -> None:
        self._stopped.set()

    def _run(self, call: grpc.Future[Any]) -> None:
        while not self._stopped.wait(min(self._timeout / 3, 1.0)):
            if not self._working and time.monotonic() - self._last > self._timeout:
                self.fired = True
                call.cancel()
                return

