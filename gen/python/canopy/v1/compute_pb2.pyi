from canopy.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Address(_message.Message):
    __slots__ = ["ip", "network", "type", "version"]
    IP_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ip: str
    network: str
    type: str
    version: int
    def __init__(self, network: _Optional[str] = ..., ip: _Optional[str] = ..., version: _Optional[int] = ..., type: _Optional[str] = ...) -> None: ...

class CreateKeypairRequest(_message.Message):
    __slots__ = ["location", "name", "public_key", "request_id", "type"]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    location: _common_pb2.Location
    name: str
    public_key: str
    request_id: str
    type: str
    def __init__(self, name: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., public_key: _Optional[str] = ..., type: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateServerRequest(_message.Message):
    __slots__ = ["boot_volume", "flavor", "image", "keypair", "labels", "location", "name", "networks", "request_id", "user_data", "wait"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BOOT_VOLUME_FIELD_NUMBER: _ClassVar[int]
    FLAVOR_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    KEYPAIR_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    boot_volume: str
    flavor: str
    image: str
    keypair: str
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    networks: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    user_data: bytes
    wait: bool
    def __init__(self, name: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., flavor: _Optional[str] = ..., image: _Optional[str] = ..., keypair: _Optional[str] = ..., networks: _Optional[_Iterable[str]] = ..., user_data: _Optional[bytes] = ..., labels: _Optional[_Mapping[str, str]] = ..., wait: bool = ..., request_id: _Optional[str] = ..., boot_volume: _Optional[str] = ...) -> None: ...

class DeleteKeypairRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteKeypairResponse(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteServerRequest(_message.Message):
    __slots__ = ["allow_missing", "id", "wait"]
    ALLOW_MISSING_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    allow_missing: bool
    id: str
    wait: bool
    def __init__(self, id: _Optional[str] = ..., wait: bool = ..., allow_missing: bool = ...) -> None: ...

class FindFlavorRequest(_message.Message):
    __slots__ = ["location", "min_disk_gib", "min_gpus", "min_ram_mib", "min_vcpus"]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    MIN_DISK_GIB_FIELD_NUMBER: _ClassVar[int]
    MIN_GPUS_FIELD_NUMBER: _ClassVar[int]
    MIN_RAM_MIB_FIELD_NUMBER: _ClassVar[int]
    MIN_VCPUS_FIELD_NUMBER: _ClassVar[int]
    location: _common_pb2.Location
    min_disk_gib: int
    min_gpus: int
    min_ram_mib: int
    min_vcpus: int
    def __init__(self, location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., min_vcpus: _Optional[int] = ..., min_ram_mib: _Optional[int] = ..., min_disk_gib: _Optional[int] = ..., min_gpus: _Optional[int] = ...) -> None: ...

class Flavor(_message.Message):
    __slots__ = ["create_time", "disk_gib", "gpus", "id", "labels", "location", "name", "native_id", "properties", "provider_status", "ram_mib", "status", "update_time", "vcpus"]
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
    DISK_GIB_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_STATUS_FIELD_NUMBER: _ClassVar[int]
    RAM_MIB_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VCPUS_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    disk_gib: int
    gpus: int
    id: str
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    native_id: str
    properties: _containers.ScalarMap[str, str]
    provider_status: str
    ram_mib: int
    status: _common_pb2.Status
    update_time: _timestamp_pb2.Timestamp
    vcpus: int
    def __init__(self, id: _Optional[str] = ..., native_id: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.Status, str]] = ..., provider_status: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., properties: _Optional[_Mapping[str, str]] = ..., vcpus: _Optional[int] = ..., ram_mib: _Optional[int] = ..., disk_gib: _Optional[int] = ..., gpus: _Optional[int] = ...) -> None: ...

class GetFlavorRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetImageRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetKeypairRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetServerRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ["container_format", "create_time", "disk_format", "id", "labels", "location", "min_disk_gib", "min_ram_mib", "name", "native_id", "operation", "properties", "provider_status", "size_bytes", "status", "update_time"]
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
    CONTAINER_FORMAT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DISK_FORMAT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    MIN_DISK_GIB_FIELD_NUMBER: _ClassVar[int]
    MIN_RAM_MIB_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_STATUS_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    container_format: str
    create_time: _timestamp_pb2.Timestamp
    disk_format: str
    id: str
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    min_disk_gib: int
    min_ram_mib: int
    name: str
    native_id: str
    operation: str
    properties: _containers.ScalarMap[str, str]
    provider_status: str
    size_bytes: int
    status: _common_pb2.Status
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., native_id: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.Status, str]] = ..., provider_status: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., properties: _Optional[_Mapping[str, str]] = ..., size_bytes: _Optional[int] = ..., disk_format: _Optional[str] = ..., container_format: _Optional[str] = ..., min_disk_gib: _Optional[int] = ..., min_ram_mib: _Optional[int] = ..., operation: _Optional[str] = ...) -> None: ...

class Keypair(_message.Message):
    __slots__ = ["create_time", "fingerprint", "id", "labels", "location", "name", "native_id", "private_key", "properties", "provider_status", "public_key", "status", "type", "update_time"]
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
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_STATUS_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    fingerprint: str
    id: str
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    native_id: str
    private_key: str
    properties: _containers.ScalarMap[str, str]
    provider_status: str
    public_key: str
    status: _common_pb2.Status
    type: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., native_id: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.Status, str]] = ..., provider_status: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., properties: _Optional[_Mapping[str, str]] = ..., public_key: _Optional[str] = ..., fingerprint: _Optional[str] = ..., type: _Optional[str] = ..., private_key: _Optional[str] = ...) -> None: ...

class ListFlavorsRequest(_message.Message):
    __slots__ = ["labels", "location", "name", "page_size", "page_token"]
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
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListFlavorsResponse(_message.Message):
    __slots__ = ["cloud_errors", "flavors", "next_page_token"]
    CLOUD_ERRORS_FIELD_NUMBER: _ClassVar[int]
    FLAVORS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    cloud_errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.CloudError]
    flavors: _containers.RepeatedCompositeFieldContainer[Flavor]
    next_page_token: str
    def __init__(self, flavors: _Optional[_Iterable[_Union[Flavor, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., cloud_errors: _Optional[_Iterable[_Union[_common_pb2.CloudError, _Mapping]]] = ...) -> None: ...

class ListImagesRequest(_message.Message):
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

class ListImagesResponse(_message.Message):
    __slots__ = ["cloud_errors", "images", "next_page_token"]
    CLOUD_ERRORS_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    cloud_errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.CloudError]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    next_page_token: str
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., cloud_errors: _Optional[_Iterable[_Union[_common_pb2.CloudError, _Mapping]]] = ...) -> None: ...

class ListKeypairsRequest(_message.Message):
    __slots__ = ["location", "name", "page_size", "page_token"]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    location: _common_pb2.Location
    name: str
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class ListKeypairsResponse(_message.Message):
    __slots__ = ["cloud_errors", "keypairs", "next_page_token"]
    CLOUD_ERRORS_FIELD_NUMBER: _ClassVar[int]
    KEYPAIRS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    cloud_errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.CloudError]
    keypairs: _containers.RepeatedCompositeFieldContainer[Keypair]
    next_page_token: str
    def __init__(self, keypairs: _Optional[_Iterable[_Union[Keypair, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., cloud_errors: _Optional[_Iterable[_Union[_common_pb2.CloudError, _Mapping]]] = ...) -> None: ...

class ListServersRequest(_message.Message):
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

class ListServersResponse(_message.Message):
    __slots__ = ["cloud_errors", "next_page_token", "servers"]
    CLOUD_ERRORS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    cloud_errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.CloudError]
    next_page_token: str
    servers: _containers.RepeatedCompositeFieldContainer[Server]
    def __init__(self, servers: _Optional[_Iterable[_Union[Server, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., cloud_errors: _Optional[_Iterable[_Union[_common_pb2.CloudError, _Mapping]]] = ...) -> None: ...

class RebootServerRequest(_message.Message):
    __slots__ = ["hard", "id", "wait"]
    HARD_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    hard: bool
    id: str
    wait: bool
    def __init__(self, id: _Optional[str] = ..., hard: bool = ..., wait: bool = ...) -> None: ...

class Server(_message.Message):
    __slots__ = ["addresses", "create_time", "flavor_id", "id", "image_id", "keypair", "labels", "location", "name", "native_id", "properties", "provider_status", "status", "status_message", "update_time"]
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
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    FLAVOR_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    KEYPAIR_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    addresses: _containers.RepeatedCompositeFieldContainer[Address]
    create_time: _timestamp_pb2.Timestamp
    flavor_id: str
    id: str
    image_id: str
    keypair: str
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    native_id: str
    properties: _containers.ScalarMap[str, str]
    provider_status: str
    status: _common_pb2.Status
    status_message: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., native_id: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.Status, str]] = ..., provider_status: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., properties: _Optional[_Mapping[str, str]] = ..., flavor_id: _Optional[str] = ..., image_id: _Optional[str] = ..., keypair: _Optional[str] = ..., addresses: _Optional[_Iterable[_Union[Address, _Mapping]]] = ..., status_message: _Optional[str] = ...) -> None: ...

class StartServerRequest(_message.Message):
    __slots__ = ["id", "wait"]
    ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    wait: bool
    def __init__(self, id: _Optional[str] = ..., wait: bool = ...) -> None: ...

class StopServerRequest(_message.Message):
    __slots__ = ["id", "wait"]
    ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    wait: bool
    def __init__(self, id: _Optional[str] = ..., wait: bool = ...) -> None: ...

class WatchServersRequest(_message.Message):
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

class WatchServersResponse(_message.Message):
    __slots__ = ["cloud_error", "server", "type"]
    class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    CLOUD_ERROR_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_ADDED: WatchServersResponse.EventType
    EVENT_TYPE_CLOUD_ERROR: WatchServersResponse.EventType
    EVENT_TYPE_DELETED: WatchServersResponse.EventType
    EVENT_TYPE_MODIFIED: WatchServersResponse.EventType
    EVENT_TYPE_SYNCED: WatchServersResponse.EventType
    EVENT_TYPE_UNSPECIFIED: WatchServersResponse.EventType
    SERVER_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    cloud_error: _common_pb2.CloudError
    server: Server
    type: WatchServersResponse.EventType
    def __init__(self, type: _Optional[_Union[WatchServersResponse.EventType, str]] = ..., server: _Optional[_Union[Server, _Mapping]] = ..., cloud_error: _Optional[_Union[_common_pb2.CloudError, _Mapping]] = ...) -> None: ...
