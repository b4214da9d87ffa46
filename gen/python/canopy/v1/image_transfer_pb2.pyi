from canopy.v1 import common_pb2 as _common_pb2
from canopy.v1 import compute_pb2 as _compute_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DownloadImageRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DownloadImageResponse(_message.Message):
    __slots__ = ["chunk", "image", "sha256"]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    image: _compute_pb2.Image
    sha256: str
    def __init__(self, image: _Optional[_Union[_compute_pb2.Image, _Mapping]] = ..., chunk: _Optional[bytes] = ..., sha256: _Optional[str] = ...) -> None: ...

class ImageUploadHeader(_message.Message):
    __slots__ = ["container_format", "disk_format", "labels", "location", "min_disk_gib", "min_ram_mib", "name", "sha256", "size_bytes", "wait"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONTAINER_FORMAT_FIELD_NUMBER: _ClassVar[int]
    DISK_FORMAT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    MIN_DISK_GIB_FIELD_NUMBER: _ClassVar[int]
    MIN_RAM_MIB_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    container_format: str
    disk_format: str
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    min_disk_gib: int
    min_ram_mib: int
    name: str
    sha256: str
    size_bytes: int
    wait: bool
    def __init__(self, name: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., disk_format: _Optional[str] = ..., container_format: _Optional[str] = ..., min_disk_gib: _Optional[int] = ..., min_ram_mib: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., wait: bool = ...) -> None: ...

class UploadImageRequest(_message.Message):
    __slots__ = ["chunk", "header", "sha256"]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    header: ImageUploadHeader
    sha256: str
    def __init__(self, header: _Optional[_Union[ImageUploadHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ..., sha256: _Optional[str] = ...) -> None: ...
