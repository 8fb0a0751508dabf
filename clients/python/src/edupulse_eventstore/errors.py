"""The errors the client raises: one class per failure a caller handles differently."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "eventstore.edupulse.dev"


class EventStoreError(Exception):
    """Base class of every error the client raises; ``code`` is the gRPC status."""

    def __init__(self, message: str, code: grpc.StatusCode, reason: str = "") -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.reason = reason
        self.details = message


class WrongExpectedRevisionError(EventStoreError):
    """The stream was not at the expected revision; ``actual_revision`` is None when it does not exist."""

    def __init__(self, message: str, stream: str, expected: str, actual_revision: int | None) -> None:
        super().__init__(message, grpc.StatusCode.ABORTED, "WRONG_EXPECTED_REVISION")
        self.stream = stream
        self.expected = expected
        self.actual_revision = actual_revision


class DuplicateEventIdError(EventStoreError):
    """An event id already stored with other content (a retry must resend the very same events)."""

    def __init__(self, message: str, event_id: str, stream: str) -> None:
        super().__init__(message, grpc.StatusCode.ALREADY_EXISTS, "DUPLICATE_EVENT_ID")
        self.event_id = event_id
        self.stream = stream


class StreamNotFoundError(EventStoreError):
    """The stream does not exist (or was deleted)."""

    def __init__(self, message: str, stream: str) -> None:
        super().__init__(message, grpc.StatusCode.NOT_FOUND, "STREAM_NOT_FOUND")
        self.stream = stream


class InvalidRequestError(EventStoreError):
    """The server refused the request as malformed; ``violations`` lists (field, description)."""

    def __init__(self, message: str, violations: list[tuple[str, str]]) -> None:
        super().__init__(message, grpc.StatusCode.INVALID_ARGUMENT)
        self.violations = violations


def error_from(error: grpc.RpcError) -> EventStoreError:
    """The most specific error for a failed call, read from its google.rpc.Status details."""
    code: grpc.StatusCode = error.code()
    message: str = error.details() or ""
    status = rpc_status.from_call(error)
    info = error_details_pb2.ErrorInfo()
    bad_request = error_details_pb2.BadRequest()
    has_info = has_bad_request = False
    for detail in status.details if status is not None else []:
        if detail.Is(info.DESCRIPTOR) and detail.Unpack(info) and info.domain == ERROR_DOMAIN:
            has_info = True
        elif detail.Is(bad_request.DESCRIPTOR):
            has_bad_request = detail.Unpack(bad_request)
    metadata = info.metadata if has_info else {}
    reason = info.reason if has_info else ""
    if reason == "WRONG_EXPECTED_REVISION":
        actual = metadata.get("actual_revision")
        return WrongExpectedRevisionError(
            message,
            metadata.get("stream", ""),
            metadata.get("expected", ""),
            None if actual is None or actual == "none" else int(actual),
        )
    if reason == "DUPLICATE_EVENT_ID":
        return DuplicateEventIdError(message, metadata.get("event_id", ""), metadata.get("stream", ""))
    if reason == "STREAM_NOT_FOUND":
        return StreamNotFoundError(message, metadata.get("stream", ""))
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        violations = [(v.field, v.description) for v in bad_request.field_violations] if has_bad_request else []
        return InvalidRequestError(message, violations)
    return EventStoreError(message, code, reason)
