from canopy.v1 import common_pb2 as _common_pb2
from canopy.v1 import operation_pb2 as _operation_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AttachVolumeRequest(_message.Message):
    __slots__ = ["id", "request_id", "server", "wait"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    server: str
    wait: bool
    def __init__(self, id: _Optional[str] = ..., server: _Optional[str] = ..., wait: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class Backup(_message.Message):
    __slots__ = ["create_time", "description", "emulated", "id", "labels", "location", "name", "native_id", "properties", "provider_status", "size_gib", "status", "status_message", "update_time", "volume_id"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PropertiesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EMULATED_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_STATUS_FIELD_NUMBER: _ClassVar[int]
    SIZE_GIB_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    description: str
    emulated: bool
    id: str
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    native_id: str
    properties: _containers.ScalarMap[str, str]
    provider_status: str
    size_gib: int
    status: _common_pb2.Status
    status_message: str
    update_time: _timestamp_pb2.Timestamp
    volume_id: str
    def __init__(self, id: _Optional[str] = ..., native_id: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.Status, str]] = ..., provider_status: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., properties: _Optional[_Mapping[str, str]] = ..., status_message: _Optional[str] = ..., volume_id: _Optional[str] = ..., size_gib: _Optional[int] = ..., description: _Optional[str] = ..., emulated: bool = ...) -> None: ...

class CreateBackupRequest(_message.Message):
    __slots__ = ["description", "labels", "name", "request_id", "volume", "wait"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    description: str
    labels: _containers.ScalarMap[str, str]
    name: str
    request_id: str
    volume: str
    wait: bool
    def __init__(self, name: _Optional[str] = ..., volume: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., wait: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateSnapshotRequest(_message.Message):
    __slots__ = ["description", "labels", "name", "request_id", "volume", "wait"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    description: str
    labels: _containers.ScalarMap[str, str]
    name: str
    request_id: str
    volume: str
    wait: bool
    def __init__(self, name: _Optional[str] = ..., volume: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., wait: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateVolumeRequest(_message.Message):
    __slots__ = ["description", "image", "labels", "location", "name", "request_id", "size_gib", "snapshot", "volume_type", "wait"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_GIB_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    VOLUME_TYPE_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    description: str
    image: str
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    request_id: str
    size_gib: int
    snapshot: str
    volume_type: str
    wait: bool
    def __init__(self, name: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., size_gib: _Optional[int] = ..., volume_type: _Optional[str] = ..., description: _Optional[str] = ..., image: _Optional[str] = ..., snapshot: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., wait: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteBackupRequest(_message.Message):
    __slots__ = ["id", "request_id", "wait"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    wait: bool
    def __init__(self, id: _Optional[str] = ..., wait: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteSnapshotRequest(_message.Message):
    __slots__ = ["id", "request_id", "wait"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    wait: bool
    def __init__(self, id: _Optional[str] = ..., wait: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteVolumeRequest(_message.Message):
    __slots__ = ["id", "request_id", "wait"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    wait: bool
    def __init__(self, id: _Optional[str] = ..., wait: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class DetachVolumeRequest(_message.Message):
    __slots__ = ["id", "request_id", "server", "wait"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    server: str
    wait: bool
    def __init__(self, id: _Optional[str] = ..., server: _Optional[str] = ..., wait: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class ExtendVolumeRequest(_message.Message):
    __slots__ = ["id", "request_id", "size_gib", "wait"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_GIB_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    size_gib: int
    wait: bool
    def __init__(self, id: _Optional[str] = ..., size_gib: _Optional[int] = ..., wait: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class GetBackupRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetSnapshotRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetVolumeRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListBackupsRequest(_message.Message):
    __slots__ = ["labels", "location", "name", "page_size", "page_token", "volume_id"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    page_size: int
    page_token: str
    volume_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., volume_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListBackupsResponse(_message.Message):
    __slots__ = ["backups", "cloud_errors", "next_page_token"]
    BACKUPS_FIELD_NUMBER: _ClassVar[int]
    CLOUD_ERRORS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    backups: _containers.RepeatedCompositeFieldContainer[Backup]
    cloud_errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.CloudError]
    next_page_token: str
    def __init__(self, backups: _Optional[_Iterable[_Union[Backup, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., cloud_errors: _Optional[_Iterable[_Union[_common_pb2.CloudError, _Mapping]]] = ...) -> None: ...

class ListSnapshotsRequest(_message.Message):
    __slots__ = ["labels", "location", "name", "page_size", "page_token", "volume_id"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    page_size: int
    page_token: str
    volume_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., volume_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListSnapshotsResponse(_message.Message):
    __slots__ = ["cloud_errors", "next_page_token", "snapshots"]
    CLOUD_ERRORS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    cloud_errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.CloudError]
    next_page_token: str
    snapshots: _containers.RepeatedCompositeFieldContainer[Snapshot]
    def __init__(self, snapshots: _Optional[_Iterable[_Union[Snapshot, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., cloud_errors: _Optional[_Iterable[_Union[_common_pb2.CloudError, _Mapping]]] = ...) -> None: ...

class ListVolumesRequest(_message.Message):
    __slots__ = ["labels", "location", "name", "page_size", "page_token", "status"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    page_size: int
    page_token: str
    status: _common_pb2.Status
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.Status, str]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListVolumesResponse(_message.Message):
    __slots__ = ["cloud_errors", "next_page_token", "volumes"]
    CLOUD_ERRORS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    cloud_errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.CloudError]
    next_page_token: str
    volumes: _containers.RepeatedCompositeFieldContainer[Volume]
    def __init__(self, volumes: _Optional[_Iterable[_Union[Volume, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., cloud_errors: _Optional[_Iterable[_Union[_common_pb2.CloudError, _Mapping]]] = ...) -> None: ...

class RestoreBackupRequest(_message.Message):
    __slots__ = ["id", "labels", "name", "request_id", "size_gib", "wait", "zone"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_GIB_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    id: str
    labels: _containers.ScalarMap[str, str]
    name: str
    request_id: str
    size_gib: int
    wait: bool
    zone: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., zone: _Optional[str] = ..., size_gib: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., wait: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class Snapshot(_message.Message):
    __slots__ = ["create_time", "description", "emulated", "id", "labels", "location", "name", "native_id", "properties", "provider_status", "size_gib", "status", "status_message", "update_time", "volume_id"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PropertiesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EMULATED_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_STATUS_FIELD_NUMBER: _ClassVar[int]
    SIZE_GIB_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    description: str
    emulated: bool
    id: str
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    native_id: str
    properties: _containers.ScalarMap[str, str]
    provider_status: str
    size_gib: int
    status: _common_pb2.Status
    status_message: str
    update_time: _timestamp_pb2.Timestamp
    volume_id: str
    def __init__(self, id: _Optional[str] = ..., native_id: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.Status, str]] = ..., provider_status: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., properties: _Optional[_Mapping[str, str]] = ..., status_message: _Optional[str] = ..., volume_id: _Optional[str] = ..., size_gib: _Optional[int] = ..., description: _Optional[str] = ..., emulated: bool = ...) -> None: ...

class Volume(_message.Message):
    __slots__ = ["attachments", "backup_id", "bootable", "create_time", "description", "emulated", "id", "image_id", "labels", "location", "name", "native_id", "properties", "provider_status", "size_gib", "snapshot_id", "status", "status_message", "update_time", "volume_type"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PropertiesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    BACKUP_ID_FIELD_NUMBER: _ClassVar[int]
    BOOTABLE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EMULATED_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_STATUS_FIELD_NUMBER: _ClassVar[int]
    SIZE_GIB_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_TYPE_FIELD_NUMBER: _ClassVar[int]
    attachments: _containers.RepeatedCompositeFieldContainer[VolumeAttachment]
    backup_id: str
    bootable: bool
    create_time: _timestamp_pb2.Timestamp
    description: str
    emulated: bool
    id: str
    image_id: str
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    native_id: str
    properties: _containers.ScalarMap[str, str]
    provider_status: str
    size_gib: int
    snapshot_id: str
    status: _common_pb2.Status
    status_message: str
    update_time: _timestamp_pb2.Timestamp
    volume_type: str
    def __init__(self, id: _Optional[str] = ..., native_id: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.Status, str]] = ..., provider_status: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., properties: _Optional[_Mapping[str, str]] = ..., status_message: _Optional[str] = ..., size_gib: _Optional[int] = ..., volume_type: _Optional[str] = ..., description: _Optional[str] = ..., image_id: _Optional[str] = ..., snapshot_id: _Optional[str] = ..., backup_id: _Optional[str] = ..., attachments: _Optional[_Iterable[_Union[VolumeAttachment, _Mapping]]] = ..., bootable: bool = ..., emulated: bool = ...) -> None: ...

class VolumeAttachment(_message.Message):
    __slots__ = ["device", "server_id"]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    device: str
    server_id: str
    def __init__(self, server_id: _Optional[str] = ..., device: _Optional[str] = ...) -> None: ...

class WatchVolumesRequest(_message.Message):
    __slots__ = ["ids", "labels", "location", "name"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    IDS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    def __init__(self, location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., ids: _Optional[_Iterable[str]] = ...) -> None: ...

class WatchVolumesResponse(_message.Message):
    __slots__ = ["cloud_error", "type", "volume"]
    class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    CLOUD_ERROR_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_ADDED: WatchVolumesResponse.EventType
    EVENT_TYPE_CLOUD_ERROR: WatchVolumesResponse.EventType
    EVENT_TYPE_DELETED: WatchVolumesResponse.EventType
    EVENT_TYPE_MODIFIED: WatchVolumesResponse.EventType
    EVENT_TYPE_SYNCED: WatchVolumesResponse.EventType
    EVENT_TYPE_UNSPECIFIED: WatchVolumesResponse.EventType
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    cloud_error: _common_pb2.CloudError
    type: WatchVolumesResponse.EventType
    volume: Volume
    def __init__(self, type: _Optional[_Union[WatchVolumesResponse.EventType, str]] = ..., volume: _Optional[_Union[Volume, _Mapping]] = ..., cloud_error: _Optional[_Union[_common_pb2.CloudError, _Mapping]] = ...) -> None: ...
