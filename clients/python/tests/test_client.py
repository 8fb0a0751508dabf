"""The Python client against a real server: appends, reads, errors, retries, subscriptions, keys and TLS."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import grpc
import pytest

from edupulse.events.v1 import events_pb2
from edupulse_eventstore import (
    CaughtUp,
    EventData,
    EventStoreClient,
    EventStoreError,
    InvalidRequestError,
    RecordedEvent,
    StreamNotFoundError,
    WrongExpectedRevisionError,
    decode_json,
)
from event_store_server import SERVER_MAIN, EventStoreServer


def test_appends_and_reads_json_and_protobuf_events(server: EventStoreServer, tenant: str) -> None:
    lesson = events_pb2.LessonPublished(lesson_id="l-1", course_id="c-1", title="Fractions", teacher_id="t-1")
    with EventStoreClient(server.address, tenant=tenant) as store:
        first = store.append(
            "lesson-1",
            [EventData.protobuf(lesson), EventData.json("test.Note", {"text": "bring a ruler"}, metadata={"k": "v"})],
            expected_revision="no_stream",
        )
        assert (first.first_revision, first.last_revision, first.first_position, first.last_position) == (0, 1, 1, 2)
        events = list(store.read_stream("lesson-1"))
        assert [e.type for e in events] == ["edupulse.events.v1.LessonPublished", "test.Note"]
        assert events_pb2.LessonPublished.FromString(events[0].data) == lesson
        assert decode_json(events[1]) == {"text": "bring a ruler"}
        assert dict(events[1].metadata) == {"k": "v"}
        info = store.stream_info("lesson-1")
        assert (info.exists, info.revision, info.last_position) == (True, 1, 2)


def test_resending_the_same_events_is_deduplicated(server: EventStoreServer, tenant: str) -> None:
    with EventStoreClient(server.address, tenant=tenant) as store:
        events = [EventData.json("test.Paid", {"amount": 5})]
        first = store.append("order-1", events)
        again = store.append("order-1", events)
        assert not first.deduplicated and again.deduplicated
        assert again.last_position == first.last_position
        assert len(list(store.read_stream("order-1"))) == 1


def test_wrong_expected_revision_names_the_actual_revision(server: EventStoreServer, tenant: str) -> None:
    with EventStoreClient(server.address, tenant=tenant) as store:
        store.append("cart-1", [EventData.json("test.Added", {}), EventData.json("test.Added", {})])
        with pytest.raises(WrongExpectedRevisionError) as conflict:
            store.append("cart-1", [EventData.json("test.Added", {})], expected_revision=0)
        assert conflict.value.actual_revision == 1
        assert conflict.value.code == grpc.StatusCode.ABORTED
        with pytest.raises(WrongExpectedRevisionError) as missing:
            store.append("cart-2", [EventData.json("test.Added", {})], expected_revision="stream_exists")
        assert missing.value.actual_revision is None
        assert store.append("cart-1", [EventData.json("test.Added", {})], expected_revision=1).last_revision == 2


def test_bad_input_and_missing_streams_raise_typed_errors(server: EventStoreServer, tenant: str) -> None:
    with EventStoreClient(server.address, tenant=tenant) as store:
        with pytest.raises(StreamNotFoundError) as not_found:
            list(store.read_stream("nobody"))
        assert not_found.value.stream == "nobody"
        with pytest.raises(InvalidRequestError) as invalid:
            store.append("bad stream name\n", [EventData.json("test.X", {})])
        assert any(field == "stream" for field, _ in invalid.value.violations)


def test_reads_page_through_streams_and_the_log(server: EventStoreServer, tenant: str) -> None:
    with EventStoreClient(server.address, tenant=tenant) as store:
        for n in range(5):
            store.append(f"s-{n % 2}", [EventData.json("test.N", {"n": n}), EventData.json("test.M", {"n": n})])
        stream = [decode_json(e)["n"] for e in store.read_stream("s-0", page_size=2)]
        assert stream == [0, 0, 2, 2, 4, 4]
        backwards = [e.revision for e in store.read_stream("s-1", direction="backwards", page_size=3)]
        assert backwards == [3, 2, 1, 0]
        log = [e.position for e in store.read_log(page_size=3)]
        assert log == list(range(1, 11))
        only_n = [decode_json(e)["n"] for e in store.read_log(event_types=["test.N"], page_size=2)]
        assert only_n == [0, 1, 2, 3, 4]
        assert [e.position for e in store.read_log(from_position=9)] == [9, 10]


def test_an_append_is_retried_while_the_server_restarts(server: EventStoreServer, tenant: str) -> None:
    with EventStoreClient(server.address, tenant=tenant, max_attempts=12) as store:
        store.append("retried", [EventData.json("test.Before", {})])
        server.stop()
        outcome: list[object] = []
        event = EventData.json("test.During", {})
        worker = threading.Thread(target=lambda: outcome.append(_try(lambda: store.append("retried", [event]))))
        worker.start()
        server.start()
        worker.join(timeout=90)
        assert len(outcome) == 1 and not isinstance(outcome[0], Exception), outcome
        assert [e.event_id for e in store.read_stream("retried")][1:] == [event.event_id]


def test_a_subscription_delivers_history_then_live_and_resumes_across_a_restart(
    server: EventStoreServer, tenant: str
) -> None:
    with EventStoreClient(server.address, tenant=tenant) as store:
        store.append("a", [EventData.json("test.N", {"n": n}) for n in range(3)])
        subscription = store.subscribe(heartbeat_interval_ms=500)
        items = iter(subscription)
        assert [next(items).position for _ in range(3)] == [1, 2, 3]
        assert next(items) == CaughtUp(3)
        store.append("b", [EventData.json("test.N", {"n": 3})])
        assert next(items).position == 4
        server.stop()
        server.start()
        store.append("b", [EventData.json("test.N", {"n": n}) for n in (4, 5)])
        received: list[int] = []
        while len(received) < 2:
            item = next(items)
            if isinstance(item, RecordedEvent):
                received.append(item.position)
        assert received == [5, 6]
        assert subscription.position == 6
        subscription.close()
        assert next(items, None) is None


def test_a_stream_subscription_from_the_end_gets_only_new_events(server: EventStoreServer, tenant: str) -> None:
    with EventStoreClient(server.address, tenant=tenant) as store:
        store.append("room-1", [EventData.json("test.Old", {})])
        store.append("room-2", [EventData.json("test.Other", {})])
        with store.subscribe("room-1", from_end=True) as subscription:
            items = iter(subscription)
            assert isinstance(next(items), CaughtUp)
            store.append("room-2", [EventData.json("test.Other", {})])
            store.append("room-1", [EventData.json("test.New", {})])
            event = next(items)
            assert isinstance(event, RecordedEvent)
            assert (event.type, event.stream, event.revision) == ("test.New", "room-1", 1)


def test_close_ends_a_subscription_waiting_in_another_thread(server: EventStoreServer, tenant: str) -> None:
    with EventStoreClient(server.address, tenant=tenant) as store:
        subscription = store.subscribe()
        seen: list[object] = []
        reader = threading.Thread(target=lambda: seen.extend(subscription))
        reader.start()
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
        subscription.close()
        reader.join(timeout=30)
        assert not reader.is_alive() and seen == [CaughtUp(0)]


def test_a_server_never_reached_fails_at_once_naming_the_address(tmp_path: Path) -> None:
    stopped = EventStoreServer(tmp_path / "data").start()
    address = stopped.address
    stopped.stop()
    with EventStoreClient(address) as store:
        started = time.monotonic()
        with pytest.raises(EventStoreError) as refused:
            store.append("s", [EventData.json("test.X", {})])
        assert time.monotonic() - started < 5
        assert refused.value.code == grpc.StatusCode.UNAVAILABLE
        assert f"cannot connect to {address}" in str(refused.value)


def test_api_keys_and_tls(tmp_path: Path, tenant: str) -> None:
    certificates = _certificates(tmp_path)
    created = subprocess.run(
        ["node", str(SERVER_MAIN), "keys", "create", "--id", "py", "--tenant", tenant, "--role", "write"],
        capture_output=True,
        text=True,
        check=True,
    )
    made = json.loads(created.stdout.splitlines()[0])
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps({"keys": [made["entry"]]}))
    tls = ["--tls-cert", str(certificates / "server.crt"), "--tls-key", str(certificates / "server.key")]
    server = EventStoreServer(tmp_path / "data", "--keys-file", str(keys_file), *tls).start()
    try:
        ca = (certificates / "server.crt").read_bytes()
        with EventStoreClient(server.address, tenant=tenant, root_certificates=ca, api_key=made["key"]) as store:
            assert store.append("s", [EventData.json("test.X", {})]).last_position == 1
        with EventStoreClient(server.address, tenant=tenant, root_certificates=ca) as anonymous:
            with pytest.raises(EventStoreError) as refused:
                anonymous.append("s", [EventData.json("test.X", {})])
            assert refused.value.code == grpc.StatusCode.UNAUTHENTICATED
        with EventStoreClient(server.address, tenant=tenant, api_key=made["key"]) as plaintext:
            with pytest.raises(EventStoreError) as mismatch:
                plaintext.append("s", [EventData.json("test.X", {})])
            assert mismatch.value.code == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop()


def _certificates(directory: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 and localhost, made with the openssl command line."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", "server.key", "-out", "server.crt", "-days", "2", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        cwd=directory,
        check=True,
        capture_output=True,
    )
    return directory


def _try(action):  # type: ignore[no-untyped-def]
    try:
        return action()
    except Exception as error:  # noqa: BLE001 - the test inspects whatever happened
        return error
