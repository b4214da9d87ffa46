from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor
STATUS_ACTIVE: Status
STATUS_DELETED: Status
STATUS_DELETING: Status
STATUS_ERROR: Status
STATUS_PENDING: Status
STATUS_STOPPED: Status
STATUS_UNKNOWN: Status
STATUS_UNSPECIFIED: Status
STATUS_UPDATING: Status

class CloudError(_message.Message):
    __slots__ = ["cloud", "code", "message"]
    CLOUD_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    cloud: str
    code: int
    message: str
    def __init__(self, cloud: _Optional[str] = ..., code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class Location(_message.Message):
    __slots__ = ["cloud", "project", "region", "zone"]
    CLOUD_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    cloud: str
    project: str
    region: str
    zone: str
    def __init__(self, cloud: _Optional[str] = ..., region: _Optional[str] = ..., zone: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
