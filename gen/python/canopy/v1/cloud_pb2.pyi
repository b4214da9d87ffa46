from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Cloud(_message.Message):
    __slots__ = ["capabilities", "health", "health_check_time", "health_message", "kind", "name", "regions", "zones"]
    class Health(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_TIME_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    HEALTH_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    HEALTH_OK: Cloud.Health
    HEALTH_UNAVAILABLE: Cloud.Health
    HEALTH_UNSPECIFIED: Cloud.Health
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    ZONES_FIELD_NUMBER: _ClassVar[int]
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    health: Cloud.Health
    health_check_time: _timestamp_pb2.Timestamp
    health_message: str
    kind: str
    name: str
    regions: _containers.RepeatedScalarFieldContainer[str]
    zones: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., regions: _Optional[_Iterable[str]] = ..., zones: _Optional[_Iterable[str]] = ..., capabilities: _Optional[_Iterable[str]] = ..., health: _Optional[_Union[Cloud.Health, str]] = ..., health_message: _Optional[str] = ..., health_check_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetCloudRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListCloudsRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCloudsResponse(_message.Message):
    __slots__ = ["clouds", "next_page_token"]
    CLOUDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    clouds: _containers.RepeatedCompositeFieldContainer[Cloud]
    next_page_token: str
    def __init__(self, clouds: _Optional[_Iterable[_Union[Cloud, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
