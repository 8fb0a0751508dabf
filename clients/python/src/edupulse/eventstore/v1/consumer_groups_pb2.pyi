import datetime

from edupulse.eventstore.v1 import event_pb2 as _event_pb2
from edupulse.eventstore.v1 import event_store_service_pb2 as _event_store_service_pb2
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

class OrderingKey(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDERING_KEY_UNSPECIFIED: _ClassVar[OrderingKey]
    ORDERING_KEY_STREAM: _ClassVar[OrderingKey]
    ORDERING_KEY_CORRELATION_ID: _ClassVar[OrderingKey]
    ORDERING_KEY_NONE: _ClassVar[OrderingKey]

class NackAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NACK_ACTION_UNSPECIFIED: _ClassVar[NackAction]
    NACK_ACTION_RETRY: _ClassVar[NackAction]
    NACK_ACTION_PARK: _ClassVar[NackAction]
    NACK_ACTION_SKIP: _ClassVar[NackAction]
ORDERING_KEY_UNSPECIFIED: OrderingKey
ORDERING_KEY_STREAM: OrderingKey
ORDERING_KEY_CORRELATION_ID: OrderingKey
ORDERING_KEY_NONE: OrderingKey
NACK_ACTION_UNSPECIFIED: NackAction
NACK_ACTION_RETRY: NackAction
NACK_ACTION_PARK: NackAction
NACK_ACTION_SKIP: NackAction

class ConsumerGroupSettings(_message.Message):
    __slots__ = ("max_in_flight_per_consumer", "ack_timeout_ms", "max_attempts", "retry_backoff_ms", "max_retry_backoff_ms")
    MAX_IN_FLIGHT_PER_CONSUMER_FIELD_NUMBER: _ClassVar[int]
    ACK_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    RETRY_BACKOFF_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_RETRY_BACKOFF_MS_FIELD_NUMBER: _ClassVar[int]
    max_in_flight_per_consumer: int
    ack_timeout_ms: int
    max_attempts: int
    retry_backoff_ms: int
    max_retry_backoff_ms: int
    def __init__(self, max_in_flight_per_consumer: _Optional[int] = ..., ack_timeout_ms: _Optional[int] = ..., max_attempts: _Optional[int] = ..., retry_backoff_ms: _Optional[int] = ..., max_retry_backoff_ms: _Optional[int] = ...) -> None: ...

class ConsumerGroup(_message.Message):
    __slots__ = ("tenant", "name", "stream", "filter", "ordering_key", "partitions", "start_after_position", "settings", "created_at")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDERING_KEY_FIELD_NUMBER: _ClassVar[int]
    PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    START_AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    name: str
    stream: str
    filter: _event_store_service_pb2.EventFilter
    ordering_key: OrderingKey
    partitions: int
    start_after_position: int
    settings: ConsumerGroupSettings
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, tenant: _Optional[str] = ..., name: _Optional[str] = ..., stream: _Optional[str] = ..., filter: _Optional[_Union[_event_store_service_pb2.EventFilter, _Mapping]] = ..., ordering_key: _Optional[_Union[OrderingKey, str]] = ..., partitions: _Optional[int] = ..., start_after_position: _Optional[int] = ..., settings: _Optional[_Union[ConsumerGroupSettings, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateConsumerGroupRequest(_message.Message):
    __slots__ = ("tenant", "name", "stream", "filter", "start", "end", "after_position", "ordering_key", "partitions", "settings")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    ORDERING_KEY_FIELD_NUMBER: _ClassVar[int]
    PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    name: str
    stream: str
    filter: _event_store_service_pb2.EventFilter
    start: _empty_pb2.Empty
    end: _empty_pb2.Empty
    after_position: int
    ordering_key: OrderingKey
    partitions: int
    settings: ConsumerGroupSettings
    def __init__(self, tenant: _Optional[str] = ..., name: _Optional[str] = ..., stream: _Optional[str] = ..., filter: _Optional[_Union[_event_store_service_pb2.EventFilter, _Mapping]] = ..., start: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., end: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., after_position: _Optional[int] = ..., ordering_key: _Optional[_Union[OrderingKey, str]] = ..., partitions: _Optional[int] = ..., settings: _Optional[_Union[ConsumerGroupSettings, _Mapping]] = ...) -> None: ...

class CreateConsumerGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: ConsumerGroup
    def __init__(self, group: _Optional[_Union[ConsumerGroup, _Mapping]] = ...) -> None: ...

class UpdateConsumerGroupRequest(_message.Message):
    __slots__ = ("tenant", "name", "settings")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    name: str
    settings: ConsumerGroupSettings
    def __init__(self, tenant: _Optional[str] = ..., name: _Optional[str] = ..., settings: _Optional[_Union[ConsumerGroupSettings, _Mapping]] = ...) -> None: ...

class UpdateConsumerGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: ConsumerGroup
    def __init__(self, group: _Optional[_Union[ConsumerGroup, _Mapping]] = ...) -> None: ...

class DeleteConsumerGroupRequest(_message.Message):
    __slots__ = ("tenant", "name")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    name: str
    def __init__(self, tenant: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DeleteConsumerGroupResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListConsumerGroupsRequest(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ...) -> None: ...

class ListConsumerGroupsResponse(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[ConsumerGroup]
    def __init__(self, groups: _Optional[_Iterable[_Union[ConsumerGroup, _Mapping]]] = ...) -> None: ...

class DescribeConsumerGroupRequest(_message.Message):
    __slots__ = ("tenant", "name")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    name: str
    def __init__(self, tenant: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DescribeConsumerGroupResponse(_message.Message):
    __slots__ = ("group", "status")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    group: ConsumerGroup
    status: ConsumerGroupStatus
    def __init__(self, group: _Optional[_Union[ConsumerGroup, _Mapping]] = ..., status: _Optional[_Union[ConsumerGroupStatus, _Mapping]] = ...) -> None: ...

class ConsumerGroupStatus(_message.Message):
    __slots__ = ("checkpoint", "log_position", "parked", "consumers", "in_flight", "partitions")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    PARKED_FIELD_NUMBER: _ClassVar[int]
    CONSUMERS_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    checkpoint: int
    log_position: int
    parked: int
    consumers: int
    in_flight: int
    partitions: _containers.RepeatedCompositeFieldContainer[ConsumerGroupPartitionStatus]
    def __init__(self, checkpoint: _Optional[int] = ..., log_position: _Optional[int] = ..., parked: _Optional[int] = ..., consumers: _Optional[int] = ..., in_flight: _Optional[int] = ..., partitions: _Optional[_Iterable[_Union[ConsumerGroupPartitionStatus, _Mapping]]] = ...) -> None: ...

class ConsumerGroupPartitionStatus(_message.Message):
    __slots__ = ("partition", "checkpoint", "owner")
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    partition: int
    checkpoint: int
    owner: str
    def __init__(self, partition: _Optional[int] = ..., checkpoint: _Optional[int] = ..., owner: _Optional[str] = ...) -> None: ...

class ConsumeRequest(_message.Message):
    __slots__ = ("join", "acks", "nacks", "credit", "extend")
    JOIN_FIELD_NUMBER: _ClassVar[int]
    ACKS_FIELD_NUMBER: _ClassVar[int]
    NACKS_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    EXTEND_FIELD_NUMBER: _ClassVar[int]
    join: ConsumeJoin
    acks: _containers.RepeatedScalarFieldContainer[int]
    nacks: _containers.RepeatedCompositeFieldContainer[ConsumeNack]
    credit: int
    extend: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, join: _Optional[_Union[ConsumeJoin, _Mapping]] = ..., acks: _Optional[_Iterable[int]] = ..., nacks: _Optional[_Iterable[_Union[ConsumeNack, _Mapping]]] = ..., credit: _Optional[int] = ..., extend: _Optional[_Iterable[int]] = ...) -> None: ...

class ConsumeJoin(_message.Message):
    __slots__ = ("tenant", "group", "credit", "consumer_name", "heartbeat_interval_ms")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_NAME_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    group: str
    credit: int
    consumer_name: str
    heartbeat_interval_ms: int
    def __init__(self, tenant: _Optional[str] = ..., group: _Optional[str] = ..., credit: _Optional[int] = ..., consumer_name: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ...) -> None: ...

class ConsumeNack(_message.Message):
    __slots__ = ("position", "action", "reason", "retry_delay_ms")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    position: int
    action: NackAction
    reason: str
    retry_delay_ms: int
    def __init__(self, position: _Optional[int] = ..., action: _Optional[_Union[NackAction, str]] = ..., reason: _Optional[str] = ..., retry_delay_ms: _Optional[int] = ...) -> None: ...

class ConsumeResponse(_message.Message):
    __slots__ = ("joined", "deliveries", "settlements", "heartbeat")
    JOINED_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENTS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    joined: ConsumeJoined
    deliveries: ConsumeDeliveries
    settlements: ConsumeSettlements
    heartbeat: ConsumeHeartbeat
    def __init__(self, joined: _Optional[_Union[ConsumeJoined, _Mapping]] = ..., deliveries: _Optional[_Union[ConsumeDeliveries, _Mapping]] = ..., settlements: _Optional[_Union[ConsumeSettlements, _Mapping]] = ..., heartbeat: _Optional[_Union[ConsumeHeartbeat, _Mapping]] = ...) -> None: ...

class ConsumeJoined(_message.Message):
    __slots__ = ("consumer_id", "group")
    CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    consumer_id: str
    group: ConsumerGroup
    def __init__(self, consumer_id: _Optional[str] = ..., group: _Optional[_Union[ConsumerGroup, _Mapping]] = ...) -> None: ...

class ConsumeDeliveries(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[ConsumeDelivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[ConsumeDelivery, _Mapping]]] = ...) -> None: ...

class ConsumeDelivery(_message.Message):
    __slots__ = ("event", "attempt", "ack_deadline")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ACK_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    event: _event_pb2.RecordedEvent
    attempt: int
    ack_deadline: _timestamp_pb2.Timestamp
    def __init__(self, event: _Optional[_Union[_event_pb2.RecordedEvent, _Mapping]] = ..., attempt: _Optional[int] = ..., ack_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConsumeSettlements(_message.Message):
    __slots__ = ("settled", "rejected", "extended")
    SETTLED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    EXTENDED_FIELD_NUMBER: _ClassVar[int]
    settled: _containers.RepeatedScalarFieldContainer[int]
    rejected: _containers.RepeatedCompositeFieldContainer[ConsumeRejection]
    extended: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, settled: _Optional[_Iterable[int]] = ..., rejected: _Optional[_Iterable[_Union[ConsumeRejection, _Mapping]]] = ..., extended: _Optional[_Iterable[int]] = ...) -> None: ...

class ConsumeRejection(_message.Message):
    __slots__ = ("position", "status")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    position: int
    status: _status_pb2.Status
    def __init__(self, position: _Optional[int] = ..., status: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class ConsumeHeartbeat(_message.Message):
    __slots__ = ("server_time",)
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    server_time: _timestamp_pb2.Timestamp
    def __init__(self, server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListParkedEventsRequest(_message.Message):
    __slots__ = ("tenant", "group", "after_position", "max_count")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    group: str
    after_position: int
    max_count: int
    def __init__(self, tenant: _Optional[str] = ..., group: _Optional[str] = ..., after_position: _Optional[int] = ..., max_count: _Optional[int] = ...) -> None: ...

class ListParkedEventsResponse(_message.Message):
    __slots__ = ("parked", "next_after_position", "total")
    PARKED_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    parked: _containers.RepeatedCompositeFieldContainer[ParkedEvent]
    next_after_position: int
    total: int
    def __init__(self, parked: _Optional[_Iterable[_Union[ParkedEvent, _Mapping]]] = ..., next_after_position: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class ParkedEvent(_message.Message):
    __slots__ = ("event", "reason", "attempts", "parked_at")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    PARKED_AT_FIELD_NUMBER: _ClassVar[int]
    event: _event_pb2.RecordedEvent
    reason: str
    attempts: int
    parked_at: _timestamp_pb2.Timestamp
    def __init__(self, event: _Optional[_Union[_event_pb2.RecordedEvent, _Mapping]] = ..., reason: _Optional[str] = ..., attempts: _Optional[int] = ..., parked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReplayParkedEventsRequest(_message.Message):
    __slots__ = ("tenant", "group", "up_to_position")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    UP_TO_POSITION_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    group: str
    up_to_position: int
    def __init__(self, tenant: _Optional[str] = ..., group: _Optional[str] = ..., up_to_position: _Optional[int] = ...) -> None: ...

class ReplayParkedEventsResponse(_message.Message):
    __slots__ = ("replaying",)
    REPLAYING_FIELD_NUMBER: _ClassVar[int]
    replaying: int
    def __init__(self, replaying: _Optional[int] = ...) -> None: ...
