"""Interop scenario for Python: the edupulse-eventstore package (clients/python),
its generated code used directly and its client.

Appends a typed LessonPublished encoded as protobuf, reads it back and decodes
it, provokes a wrong-expected-revision error and reads the actual revision from
the error details (of a unary call, and of an append session's outcome, a
google.rpc.Status), then subscribes from the start and receives the history and a
live event appended by another client (its own channel); then the same through
the package's EventStoreClient (a resent append deduplicated, the conflict as
WrongExpectedRevisionError, a subscription's history and live event). Prints one
"STEP python <name> PASS|FAIL <detail>" line per step; exits 1 on any mismatch.

Usage: python scenario.py HOST:PORT
"""

import queue
import sys
import threading
import uuid

import grpc
from google.protobuf import empty_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from edupulse.events.v1 import events_pb2
from edupulse.eventstore.v1 import consumer_groups_pb2 as groups, consumer_groups_pb2_grpc
from edupulse.eventstore.v1 import event_pb2, event_store_service_pb2 as api, event_store_service_pb2_grpc
from edupulse_eventstore import CaughtUp, EventData, EventStoreClient, RecordedEvent, WrongExpectedRevisionError

TENANT = "interop-python"
failures = 0


def step(name, ok, detail=""):
    global failures
    print(f"STEP python {name} {'PASS' if ok else 'FAIL'} {detail}", flush=True)
    if not ok:
        failures += 1


def main(address):
    channel = grpc.insecure_channel(address)
    store = event_store_service_pb2_grpc.EventStoreServiceStub(channel)
    lesson_id = str(uuid.uuid4())
    stream = f"lesson-{lesson_id}"
    lesson = events_pb2.LessonPublished(lesson_id=lesson_id, course_id="c-1", title="Fractions", teacher_id="t-1")

    appended = store.Append(
        api.AppendRequest(
            tenant=TENANT,
            stream=stream,
            expected_revision=api.ExpectedRevision(no_stream=empty_pb2.Empty()),
            events=[
                event_pb2.ProposedEvent(
                    event_id=str(uuid.uuid4()),
                    type="edupulse.events.v1.LessonPublished",
                    content_type="application/x-protobuf",
                    data=lesson.SerializeToString(),
                )
            ],
        ),
        timeout=10,
    )
    step("append", appended.first_revision == 0 and appended.last_position >= 1, f"position={appended.last_position}")

    read = store.ReadStream(api.ReadStreamRequest(tenant=TENANT, stream=stream), timeout=10)
    decoded = events_pb2.LessonPublished.FromString(read.events[0].data) if read.events else None
    step("read-and-decode", decoded == lesson, f"title={decoded.title if decoded else None!r}")

    try:
        store.Append(
            api.AppendRequest(
                tenant=TENANT,
                stream=stream,
                expected_revision=api.ExpectedRevision(no_stream=empty_pb2.Empty()),
                events=[event_pb2.ProposedEvent(type="test.Conflict", content_type="application/json", data=b"{}")],
            ),
            timeout=10,
        )
        step("wrong-expected-revision", False, "the append was accepted")
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)
        info = error_details_pb2.ErrorInfo()
        found = status is not None and any(d.Unpack(info) for d in status.details if d.Is(info.DESCRIPTOR))
        step(
            "wrong-expected-revision",
            error.code() == grpc.StatusCode.ABORTED and found and info.metadata["actual_revision"] == "0",
            f"code={error.code().name} reason={info.reason} actual_revision={info.metadata.get('actual_revision')}",
        )

    # A failed append of a session carries a google.rpc.Status, read with the standard helpers.
    session = store.AppendSession(
        iter(
            [
                api.AppendSessionRequest(
                    appends=[
                        api.SessionAppend(
                            request_id=1,
                            append=api.AppendRequest(
                                tenant=TENANT,
                                stream=stream,
                                expected_revision=api.ExpectedRevision(exact=7),
                                events=[event_pb2.ProposedEvent(type="test.Conflict", content_type="application/json", data=b"{}")],
                            ),
                        )
                    ]
                )
            ]
        ),
        timeout=10,
    )
    outcome = next(o for response in session for o in response.outcomes)
    failed = rpc_status.to_status(outcome.status) if outcome.HasField("status") else None
    info = error_details_pb2.ErrorInfo()
    found = any(d.Unpack(info) for d in outcome.status.details if d.Is(info.DESCRIPTOR))
    step(
        "session-error-status",
        failed is not None and failed.code == grpc.StatusCode.ABORTED and found and info.metadata["actual_revision"] == "0",
        f"code={failed.code.name if failed else None} actual_revision={info.metadata.get('actual_revision')}",
    )

    messages = queue.Queue()
    subscription = store.Subscribe(api.SubscribeRequest(tenant=TENANT, heartbeat_interval_ms=1000))

    def consume():
        try:
            for message in subscription:
                messages.put(message)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                messages.put(error)

    threading.Thread(target=consume, daemon=True).start()
    history, caught_up = [], None
    while caught_up is None:
        message = messages.get(timeout=10)
        if isinstance(message, Exception):
            raise message
        kind = message.WhichOneof("content")
        if kind == "events":
            history.extend(message.events.events)
        elif kind == "caught_up":
            caught_up = message.caught_up.position
    step("subscribe-history", [e.event_id for e in history] == [e.event_id for e in read.events], f"caught_up={caught_up}")

    other = grpc.insecure_channel(address)
    live_id = str(uuid.uuid4())
    event_store_service_pb2_grpc.EventStoreServiceStub(other).Append(
        api.AppendRequest(
            tenant=TENANT,
            stream=stream,
            events=[event_pb2.ProposedEvent(event_id=live_id, type="test.Live", content_type="application/json", data=b'{"live":true}')],
        ),
        timeout=10,
    )
    live = None
    while live is None:
        message = messages.get(timeout=10)
        if isinstance(message, Exception):
            raise message
        if message.WhichOneof("content") == "events":
            live = message.events.events[0]
    step("subscribe-live", live.event_id == live_id and live.position == caught_up + 1, f"position={live.position}")
    subscription.cancel()
    other.close()
    consume_group(channel, caught_up + 1)
    channel.close()
    with_client(address)


def with_client(address):
    """The same through the package's client: ids made once, typed errors, a resuming subscription."""
    with EventStoreClient(address, tenant=TENANT + "-client") as store:
        events = [EventData.json("test.Enrolled", {"learner": "l-1"})]
        first = store.append("enrolment-1", events, expected_revision="no_stream")
        again = store.append("enrolment-1", events)
        step("client-resend-deduplicated", again.deduplicated and again.last_position == first.last_position)
        try:
            store.append("enrolment-1", [EventData.json("test.Enrolled", {})], expected_revision="no_stream")
            step("client-conflict", False, "the append was accepted")
        except WrongExpectedRevisionError as conflict:
            step("client-conflict", conflict.actual_revision == 0, f"actual_revision={conflict.actual_revision}")
        with store.subscribe(heartbeat_interval_ms=1000) as subscription:
            items = iter(subscription)
            history = next(items)
            caught_up = next(items)
            live = EventData.json("test.Live", {})
            store.append("enrolment-2", [live])
            arrived = next(items)
            step(
                "client-subscribe",
                isinstance(history, RecordedEvent)
                and caught_up == CaughtUp(first.last_position)
                and isinstance(arrived, RecordedEvent)
                and arrived.event_id == live.event_id,
                f"caught_up={caught_up}",
            )


def consume_group(channel, log_position):
    """Creates a consumer group, joins it over the bidirectional Consume call, acks every event, and checks the checkpoint."""
    service = consumer_groups_pb2_grpc.ConsumerGroupServiceStub(channel)
    service.CreateConsumerGroup(groups.CreateConsumerGroupRequest(tenant=TENANT, name="python-workers"), timeout=10)
    outgoing = queue.Queue()
    outgoing.put(groups.ConsumeRequest(join=groups.ConsumeJoin(tenant=TENANT, group="python-workers", credit=10)))

    def requests():
        while True:
            request = outgoing.get()
            if request is None:
                return
            yield request

    call = service.Consume(requests(), timeout=30)
    delivered, settled = [], []
    for response in call:
        kind = response.WhichOneof("content")
        if kind == "deliveries":
            positions = [d.event.position for d in response.deliveries.deliveries]
            delivered.extend(positions)
            outgoing.put(groups.ConsumeRequest(acks=positions, credit=len(positions)))
        elif kind == "settlements":
            settled.extend(response.settlements.settled)
        if len(settled) >= log_position:
            break
    outgoing.put(None)
    call.cancel()
    described = service.DescribeConsumerGroup(groups.DescribeConsumerGroupRequest(tenant=TENANT, name="python-workers"), timeout=10)
    step(
        "consume-group",
        sorted(delivered) == list(range(1, log_position + 1)) and sorted(settled) == sorted(delivered),
        f"delivered={len(delivered)} settled={len(settled)} checkpoint={described.status.checkpoint}",
    )


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Exception as error:  # any unexpected failure is a failed step, with its reason
        step("unexpected-error", False, repr(error))
    sys.exit(1 if failures else 0)
