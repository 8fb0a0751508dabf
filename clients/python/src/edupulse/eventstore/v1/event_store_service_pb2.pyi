import datetime

from edupulse.eventstore.v1 import event_pb2 as _event_pb2
from google.protobuf import any_pb2 as _any_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReadDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    READ_DIRECTION_UNSPECIFIED: _ClassVar[ReadDirection]
    READ_DIRECTION_FORWARDS: _ClassVar[ReadDirection]
    READ_DIRECTION_BACKWARDS: _ClassVar[ReadDirection]
READ_DIRECTION_UNSPECIFIED: ReadDirection
READ_DIRECTION_FORWARDS: ReadDirection
READ_DIRECTION_BACKWARDS: ReadDirection

class EraseDataSubjectRequest(_message.Message):
    __slots__ = ("tenant", "data_subject_id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    DATA_SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    data_subject_id: str
    def __init__(self, tenant: _Optional[str] = ..., data_subject_id: _Optional[str] = ...) -> None: ...

class EraseDataSubjectResponse(_message.Message):
    __slots__ = ("position", "key_destroyed")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    KEY_DESTROYED_FIELD_NUMBER: _ClassVar[int]
    position: int
    key_destroyed: bool
    def __init__(self, position: _Optional[int] = ..., key_destroyed: _Optional[bool] = ...) -> None: ...

class StreamRetention(_message.Message):
    __slots__ = ("max_count", "max_age_seconds", "truncate_before")
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_BEFORE_FIELD_NUMBER: _ClassVar[int]
    max_count: int
    max_age_seconds: int
    truncate_before: int
    def __init__(self, max_count: _Optional[int] = ..., max_age_seconds: _Optional[int] = ..., truncate_before: _Optional[int] = ...) -> None: ...

class SetStreamRetentionRequest(_message.Message):
    __slots__ = ("tenant", "stream", "retention")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    RETENTION_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    stream: str
    retention: StreamRetention
    def __init__(self, tenant: _Optional[str] = ..., stream: _Optional[str] = ..., retention: _Optional[_Union[StreamRetention, _Mapping]] = ...) -> None: ...

class SetStreamRetentionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteStreamRequest(_message.Message):
    __slots__ = ("tenant", "stream", "expected_revision", "tombstone")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    TOMBSTONE_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    stream: str
    expected_revision: ExpectedRevision
    tombstone: bool
    def __init__(self, tenant: _Optional[str] = ..., stream: _Optional[str] = ..., expected_revision: _Optional[_Union[ExpectedRevision, _Mapping]] = ..., tombstone: _Optional[bool] = ...) -> None: ...

class DeleteStreamResponse(_message.Message):
    __slots__ = ("revision",)
    REVISION_FIELD_NUMBER: _ClassVar[int]
    revision: int
    def __init__(self, revision: _Optional[int] = ...) -> None: ...

class ExpectedRevision(_message.Message):
    __slots__ = ("any", "no_stream", "stream_exists", "exact")
    ANY_FIELD_NUMBER: _ClassVar[int]
    NO_STREAM_FIELD_NUMBER: _ClassVar[int]
    STREAM_EXISTS_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    any: _empty_pb2.Empty
    no_stream: _empty_pb2.Empty
    stream_exists: _empty_pb2.Empty
    exact: int
    def __init__(self, any: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., no_stream: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., stream_exists: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., exact: _Optional[int] = ...) -> None: ...

class AppendRequest(_message.Message):
    __slots__ = ("tenant", "stream", "expected_revision", "events")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    stream: str
    expected_revision: ExpectedRevision
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.ProposedEvent]
    def __init__(self, tenant: _Optional[str] = ..., stream: _Optional[str] = ..., expected_revision: _Optional[_Union[ExpectedRevision, _Mapping]] = ..., events: _Optional[_Iterable[_Union[_event_pb2.ProposedEvent, _Mapping]]] = ...) -> None: ...

class AppendResponse(_message.Message):
    __slots__ = ("first_position", "last_position", "first_revision", "last_revision", "deduplicated")
    FIRST_POSITION_FIELD_NUMBER: _ClassVar[int]
    LAST_POSITION_FIELD_NUMBER: _ClassVar[int]
    FIRST_REVISION_FIELD_NUMBER: _ClassVar[int]
    LAST_REVISION_FIELD_NUMBER: _ClassVar[int]
    DEDUPLICATED_FIELD_NUMBER: _ClassVar[int]
    first_position: int
    last_position: int
    first_revision: int
    last_revision: int
    deduplicated: bool
    def __init__(self, first_position: _Optional[int] = ..., last_position: _Optional[int] = ..., first_revision: _Optional[int] = ..., last_revision: _Optional[int] = ..., deduplicated: _Optional[bool] = ...) -> None: ...

class AppendSessionRequest(_message.Message):
    __slots__ = ("appends",)
    APPENDS_FIELD_NUMBER: _ClassVar[int]
    appends: _containers.RepeatedCompositeFieldContainer[SessionAppend]
    def __init__(self, appends: _Optional[_Iterable[_Union[SessionAppend, _Mapping]]] = ...) -> None: ...

class SessionAppend(_message.Message):
    __slots__ = ("request_id", "append")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    APPEND_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    append: AppendRequest
    def __init__(self, request_id: _Optional[int] = ..., append: _Optional[_Union[AppendRequest, _Mapping]] = ...) -> None: ...

class AppendSessionResponse(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[SessionAppendOutcome]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[SessionAppendOutcome, _Mapping]]] = ...) -> None: ...

class SessionAppendOutcome(_message.Message):
    __slots__ = ("request_id", "result", "error", "status")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    result: AppendResponse
    error: AppendError
    status: _status_pb2.Status
    def __init__(self, request_id: _Optional[int] = ..., result: _Optional[_Union[AppendResponse, _Mapping]] = ..., error: _Optional[_Union[AppendError, _Mapping]] = ..., status: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class AppendError(_message.Message):
    __slots__ = ("code", "message", "details")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    details: _containers.RepeatedCompositeFieldContainer[_any_pb2.Any]
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., details: _Optional[_Iterable[_Union[_any_pb2.Any, _Mapping]]] = ...) -> None: ...

class EventFilter(_message.Message):
    __slots__ = ("streams", "stream_prefixes", "event_types", "event_type_prefixes")
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    STREAM_PREFIXES_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_PREFIXES_FIELD_NUMBER: _ClassVar[int]
    streams: _containers.RepeatedScalarFieldContainer[str]
    stream_prefixes: _containers.RepeatedScalarFieldContainer[str]
    event_types: _containers.RepeatedScalarFieldContainer[str]
    event_type_prefixes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, streams: _Optional[_Iterable[str]] = ..., stream_prefixes: _Optional[_Iterable[str]] = ..., event_types: _Optional[_Iterable[str]] = ..., event_type_prefixes: _Optional[_Iterable[str]] = ...) -> None: ...

class ReadStreamRequest(_message.Message):
    __slots__ = ("tenant", "stream", "direction", "from_revision", "max_count")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    FROM_REVISION_FIELD_NUMBER: _ClassVar[int]
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    stream: str
    direction: ReadDirection
    from_revision: int
    max_count: int
    def __init__(self, tenant: _Optional[str] = ..., stream: _Optional[str] = ..., direction: _Optional[_Union[ReadDirection, str]] = ..., from_revision: _Optional[int] = ..., max_count: _Optional[int] = ...) -> None: ...

class ReadStreamResponse(_message.Message):
    __slots__ = ("events", "next_revision", "stream_revision")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_REVISION_FIELD_NUMBER: _ClassVar[int]
    STREAM_REVISION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.RecordedEvent]
    next_revision: int
    stream_revision: int
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.RecordedEvent, _Mapping]]] = ..., next_revision: _Optional[int] = ..., stream_revision: _Optional[int] = ...) -> None: ...

class ReadLogRequest(_message.Message):
    __slots__ = ("tenant", "direction", "from_position", "max_count", "filter", "sealed")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    direction: ReadDirection
    from_position: int
    max_count: int
    filter: EventFilter
    sealed: bool
    def __init__(self, tenant: _Optional[str] = ..., direction: _Optional[_Union[ReadDirection, str]] = ..., from_position: _Optional[int] = ..., max_count: _Optional[int] = ..., filter: _Optional[_Union[EventFilter, _Mapping]] = ..., sealed: _Optional[bool] = ...) -> None: ...

class ReadLogResponse(_message.Message):
    __slots__ = ("events", "next_position", "log_position")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_POSITION_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.RecordedEvent]
    next_position: int
    log_position: int
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.RecordedEvent, _Mapping]]] = ..., next_position: _Optional[int] = ..., log_position: _Optional[int] = ...) -> None: ...

class ListTenantsRequest(_message.Message):
    __slots__ = ("after", "max_count")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    after: str
    max_count: int
    def __init__(self, after: _Optional[str] = ..., max_count: _Optional[int] = ...) -> None: ...

class ListTenantsResponse(_message.Message):
    __slots__ = ("tenants", "next_after")
    TENANTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_FIELD_NUMBER: _ClassVar[int]
    tenants: _containers.RepeatedCompositeFieldContainer[TenantSummary]
    next_after: str
    def __init__(self, tenants: _Optional[_Iterable[_Union[TenantSummary, _Mapping]]] = ..., next_after: _Optional[str] = ...) -> None: ...

class TenantSummary(_message.Message):
    __slots__ = ("tenant", "log_position")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    log_position: int
    def __init__(self, tenant: _Optional[str] = ..., log_position: _Optional[int] = ...) -> None: ...

class GetStreamInfoRequest(_message.Message):
    __slots__ = ("tenant", "stream")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    stream: str
    def __init__(self, tenant: _Optional[str] = ..., stream: _Optional[str] = ...) -> None: ...

class GetStreamInfoResponse(_message.Message):
    __slots__ = ("exists", "revision", "last_position", "log_position", "retention", "deleted", "tombstoned")
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    LAST_POSITION_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    RETENTION_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    TOMBSTONED_FIELD_NUMBER: _ClassVar[int]
    exists: bool
    revision: int
    last_position: int
    log_position: int
    retention: StreamRetention
    deleted: bool
    tombstoned: bool
    def __init__(self, exists: _Optional[bool] = ..., revision: _Optional[int] = ..., last_position: _Optional[int] = ..., log_position: _Optional[int] = ..., retention: _Optional[_Union[StreamRetention, _Mapping]] = ..., deleted: _Optional[bool] = ..., tombstoned: _Optional[bool] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("tenant", "stream", "start", "end", "after_position", "after_revision", "filter", "max_batch_size", "heartbeat_interval_ms")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    AFTER_REVISION_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    stream: str
    start: _empty_pb2.Empty
    end: _empty_pb2.Empty
    after_position: int
    after_revision: int
    filter: EventFilter
    max_batch_size: int
    heartbeat_interval_ms: int
    def __init__(self, tenant: _Optional[str] = ..., stream: _Optional[str] = ..., start: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., end: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., after_position: _Optional[int] = ..., after_revision: _Optional[int] = ..., filter: _Optional[_Union[EventFilter, _Mapping]] = ..., max_batch_size: _Optional[int] = ..., heartbeat_interval_ms: _Optional[int] = ...) -> None: ...

class SubscribeResponse(_message.Message):
    __slots__ = ("events", "caught_up", "checkpoint", "heartbeat", "fell_behind")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    FELL_BEHIND_FIELD_NUMBER: _ClassVar[int]
    events: EventBatch
    caught_up: CaughtUp
    checkpoint: Checkpoint
    heartbeat: Heartbeat
    fell_behind: FellBehind
    def __init__(self, events: _Optional[_Union[EventBatch, _Mapping]] = ..., caught_up: _Optional[_Union[CaughtUp, _Mapping]] = ..., checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., fell_behind: _Optional[_Union[FellBehind, _Mapping]] = ...) -> None: ...

class EventBatch(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.RecordedEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.RecordedEvent, _Mapping]]] = ...) -> None: ...

class CaughtUp(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("server_time", "position")
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    server_time: _timestamp_pb2.Timestamp
    position: int
    def __init__(self, server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class FellBehind(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...
