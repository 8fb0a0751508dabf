import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProposedEvent(_message.Message):
    __slots__ = ("event_id", "type", "content_type", "data", "metadata", "correlation_id", "causation_id", "actor_id", "occurred_at", "contains_personal_data", "data_subject_id")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSATION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CONTAINS_PERSONAL_DATA_FIELD_NUMBER: _ClassVar[int]
    DATA_SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    type: str
    content_type: str
    data: bytes
    metadata: _containers.ScalarMap[str, str]
    correlation_id: str
    causation_id: str
    actor_id: str
    occurred_at: _timestamp_pb2.Timestamp
    contains_personal_data: bool
    data_subject_id: str
    def __init__(self, event_id: _Optional[str] = ..., type: _Optional[str] = ..., content_type: _Optional[str] = ..., data: _Optional[bytes] = ..., metadata: _Optional[_Mapping[str, str]] = ..., correlation_id: _Optional[str] = ..., causation_id: _Optional[str] = ..., actor_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., contains_personal_data: _Optional[bool] = ..., data_subject_id: _Optional[str] = ...) -> None: ...

class RecordedEvent(_message.Message):
    __slots__ = ("event_id", "tenant", "stream", "revision", "position", "type", "content_type", "data", "metadata", "correlation_id", "causation_id", "actor_id", "occurred_at", "recorded_at", "contains_personal_data", "data_subject_id", "erased", "sealed")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSATION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    CONTAINS_PERSONAL_DATA_FIELD_NUMBER: _ClassVar[int]
    DATA_SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ERASED_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    tenant: str
    stream: str
    revision: int
    position: int
    type: str
    content_type: str
    data: bytes
    metadata: _containers.ScalarMap[str, str]
    correlation_id: str
    causation_id: str
    actor_id: str
    occurred_at: _timestamp_pb2.Timestamp
    recorded_at: _timestamp_pb2.Timestamp
    contains_personal_data: bool
    data_subject_id: str
    erased: bool
    sealed: bytes
    def __init__(self, event_id: _Optional[str] = ..., tenant: _Optional[str] = ..., stream: _Optional[str] = ..., revision: _Optional[int] = ..., position: _Optional[int] = ..., type: _Optional[str] = ..., content_type: _Optional[str] = ..., data: _Optional[bytes] = ..., metadata: _Optional[_Mapping[str, str]] = ..., correlation_id: _Optional[str] = ..., causation_id: _Optional[str] = ..., actor_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., contains_personal_data: _Optional[bool] = ..., data_subject_id: _Optional[str] = ..., erased: _Optional[bool] = ..., sealed: _Optional[bytes] = ...) -> None: ...
