from canopy.v1 import common_pb2 as _common_pb2
from canopy.v1 import compute_pb2 as _compute_pb2
from canopy.v1 import operation_pb2 as _operation_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CommitContainerRequest(_message.Message):
    __slots__ = ["author", "id", "message", "no_pause", "reference"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NO_PAUSE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    author: str
    id: str
    message: str
    no_pause: bool
    reference: str
    def __init__(self, id: _Optional[str] = ..., reference: _Optional[str] = ..., message: _Optional[str] = ..., author: _Optional[str] = ..., no_pause: bool = ...) -> None: ...

class Container(_message.Message):
    __slots__ = ["addresses", "auto_remove", "command", "cpu", "create_time", "depends_on", "entrypoint", "env", "exit_code", "finish_time", "health", "healthcheck", "host", "hostname", "id", "image", "image_id", "interactive", "labels", "location", "memory_mib", "mounts", "name", "native_id", "operation", "ports", "provider_status", "ready", "ready_probe", "restart_count", "restart_policy", "start_time", "state", "status", "status_message", "tty", "user", "workdir"]
    class Health(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    class EnvEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    AUTO_REMOVE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    ENTRYPOINT_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    HEALTHCHECK_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    HEALTH_HEALTHY: Container.Health
    HEALTH_STARTING: Container.Health
    HEALTH_UNHEALTHY: Container.Health
    HEALTH_UNSPECIFIED: Container.Health
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    INTERACTIVE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    MOUNTS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_STATUS_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    READY_PROBE_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    RESTART_POLICY_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_CREATED: Container.State
    STATE_CREATING: Container.State
    STATE_DEAD: Container.State
    STATE_DELETING: Container.State
    STATE_ERROR: Container.State
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_PAUSED: Container.State
    STATE_RESTARTING: Container.State
    STATE_RUNNING: Container.State
    STATE_STOPPED: Container.State
    STATE_UNKNOWN: Container.State
    STATE_UNSPECIFIED: Container.State
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WORKDIR_FIELD_NUMBER: _ClassVar[int]
    addresses: _containers.RepeatedCompositeFieldContainer[_compute_pb2.Address]
    auto_remove: bool
    command: _containers.RepeatedScalarFieldContainer[str]
    cpu: float
    create_time: _timestamp_pb2.Timestamp
    depends_on: _containers.RepeatedCompositeFieldContainer[Dependency]
    entrypoint: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    exit_code: int
    finish_time: _timestamp_pb2.Timestamp
    health: Container.Health
    healthcheck: Healthcheck
    host: str
    hostname: str
    id: str
    image: str
    image_id: str
    interactive: bool
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    memory_mib: int
    mounts: _containers.RepeatedCompositeFieldContainer[ContainerMount]
    name: str
    native_id: str
    operation: str
    ports: _containers.RepeatedCompositeFieldContainer[PortBinding]
    provider_status: str
    ready: bool
    ready_probe: ReadyProbe
    restart_count: int
    restart_policy: RestartPolicy
    start_time: _timestamp_pb2.Timestamp
    state: Container.State
    status: _common_pb2.Status
    status_message: str
    tty: bool
    user: str
    workdir: str
    def __init__(self, id: _Optional[str] = ..., native_id: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.Status, str]] = ..., provider_status: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., state: _Optional[_Union[Container.State, str]] = ..., health: _Optional[_Union[Container.Health, str]] = ..., ready: bool = ..., exit_code: _Optional[int] = ..., status_message: _Optional[str] = ..., host: _Optional[str] = ..., image: _Optional[str] = ..., image_id: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., entrypoint: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., cpu: _Optional[float] = ..., memory_mib: _Optional[int] = ..., restart_policy: _Optional[_Union[RestartPolicy, _Mapping]] = ..., healthcheck: _Optional[_Union[Healthcheck, _Mapping]] = ..., ready_probe: _Optional[_Union[ReadyProbe, _Mapping]] = ..., auto_remove: bool = ..., interactive: bool = ..., tty: bool = ..., workdir: _Optional[str] = ..., user: _Optional[str] = ..., hostname: _Optional[str] = ..., ports: _Optional[_Iterable[_Union[PortBinding, _Mapping]]] = ..., mounts: _Optional[_Iterable[_Union[ContainerMount, _Mapping]]] = ..., addresses: _Optional[_Iterable[_Union[_compute_pb2.Address, _Mapping]]] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., finish_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., restart_count: _Optional[int] = ..., depends_on: _Optional[_Iterable[_Union[Dependency, _Mapping]]] = ..., operation: _Optional[str] = ...) -> None: ...

class ContainerLogsRequest(_message.Message):
    __slots__ = ["follow", "id", "no_stderr", "no_stdout", "since", "tail", "timestamps"]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NO_STDERR_FIELD_NUMBER: _ClassVar[int]
    NO_STDOUT_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    follow: bool
    id: str
    no_stderr: bool
    no_stdout: bool
    since: _timestamp_pb2.Timestamp
    tail: int
    timestamps: bool
    def __init__(self, id: _Optional[str] = ..., follow: bool = ..., since: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., tail: _Optional[int] = ..., timestamps: bool = ..., no_stdout: bool = ..., no_stderr: bool = ...) -> None: ...

class ContainerLogsResponse(_message.Message):
    __slots__ = ["data", "stream", "time"]
    class Stream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    DATA_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    STREAM_STDERR: ContainerLogsResponse.Stream
    STREAM_STDOUT: ContainerLogsResponse.Stream
    STREAM_UNSPECIFIED: ContainerLogsResponse.Stream
    TIME_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    stream: ContainerLogsResponse.Stream
    time: _timestamp_pb2.Timestamp
    def __init__(self, stream: _Optional[_Union[ContainerLogsResponse.Stream, str]] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class ContainerMount(_message.Message):
    __slots__ = ["read_only", "source", "target", "type"]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    read_only: bool
    source: str
    target: str
    type: str
    def __init__(self, type: _Optional[str] = ..., source: _Optional[str] = ..., target: _Optional[str] = ..., read_only: bool = ...) -> None: ...

class ContainerStats(_message.Message):
    __slots__ = ["block_read_bytes", "block_write_bytes", "cpu_percent", "id", "memory_bytes", "memory_limit_bytes", "net_rx_bytes", "net_tx_bytes", "pids", "time"]
    BLOCK_READ_BYTES_FIELD_NUMBER: _ClassVar[int]
    BLOCK_WRITE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_LIMIT_BYTES_FIELD_NUMBER: _ClassVar[int]
    NET_RX_BYTES_FIELD_NUMBER: _ClassVar[int]
    NET_TX_BYTES_FIELD_NUMBER: _ClassVar[int]
    PIDS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    block_read_bytes: int
    block_write_bytes: int
    cpu_percent: float
    id: str
    memory_bytes: int
    memory_limit_bytes: int
    net_rx_bytes: int
    net_tx_bytes: int
    pids: int
    time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., cpu_percent: _Optional[float] = ..., memory_bytes: _Optional[int] = ..., memory_limit_bytes: _Optional[int] = ..., pids: _Optional[int] = ..., net_rx_bytes: _Optional[int] = ..., net_tx_bytes: _Optional[int] = ..., block_read_bytes: _Optional[int] = ..., block_write_bytes: _Optional[int] = ...) -> None: ...

class CreateContainerRequest(_message.Message):
    __slots__ = ["auto_remove", "command", "cpu", "depends_on", "entrypoint", "env", "healthcheck", "hostname", "image", "interactive", "labels", "location", "memory_mib", "mounts", "name", "ports", "ready_probe", "request_id", "restart_policy", "run", "tty", "user", "wait", "workdir"]
    class EnvEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AUTO_REMOVE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    ENTRYPOINT_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    HEALTHCHECK_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    INTERACTIVE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    MOUNTS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    READY_PROBE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESTART_POLICY_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    WORKDIR_FIELD_NUMBER: _ClassVar[int]
    auto_remove: bool
    command: _containers.RepeatedScalarFieldContainer[str]
    cpu: float
    depends_on: _containers.RepeatedCompositeFieldContainer[Dependency]
    entrypoint: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    healthcheck: Healthcheck
    hostname: str
    image: str
    interactive: bool
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    memory_mib: int
    mounts: _containers.RepeatedCompositeFieldContainer[ContainerMount]
    name: str
    ports: _containers.RepeatedCompositeFieldContainer[PortBinding]
    ready_probe: ReadyProbe
    request_id: str
    restart_policy: RestartPolicy
    run: bool
    tty: bool
    user: str
    wait: bool
    workdir: str
    def __init__(self, name: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., image: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., entrypoint: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., cpu: _Optional[float] = ..., memory_mib: _Optional[int] = ..., restart_policy: _Optional[_Union[RestartPolicy, _Mapping]] = ..., healthcheck: _Optional[_Union[Healthcheck, _Mapping]] = ..., auto_remove: bool = ..., interactive: bool = ..., tty: bool = ..., workdir: _Optional[str] = ..., user: _Optional[str] = ..., hostname: _Optional[str] = ..., ports: _Optional[_Iterable[_Union[PortBinding, _Mapping]]] = ..., mounts: _Optional[_Iterable[_Union[ContainerMount, _Mapping]]] = ..., run: bool = ..., depends_on: _Optional[_Iterable[_Union[Dependency, _Mapping]]] = ..., ready_probe: _Optional[_Union[ReadyProbe, _Mapping]] = ..., wait: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteContainerRequest(_message.Message):
    __slots__ = ["allow_missing", "force", "id"]
    ALLOW_MISSING_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    allow_missing: bool
    force: bool
    id: str
    def __init__(self, id: _Optional[str] = ..., force: bool = ..., allow_missing: bool = ...) -> None: ...

class Dependency(_message.Message):
    __slots__ = ["condition", "container"]
    class Condition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    CONDITION_COMPLETED_SUCCESSFULLY: Dependency.Condition
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    CONDITION_HEALTHY: Dependency.Condition
    CONDITION_STARTED: Dependency.Condition
    CONDITION_UNSPECIFIED: Dependency.Condition
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    condition: Dependency.Condition
    container: str
    def __init__(self, container: _Optional[str] = ..., condition: _Optional[_Union[Dependency.Condition, str]] = ...) -> None: ...

class ExecCommand(_message.Message):
    __slots__ = ["argv"]
    ARGV_FIELD_NUMBER: _ClassVar[int]
    argv: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, argv: _Optional[_Iterable[str]] = ...) -> None: ...

class ExecContainerRequest(_message.Message):
    __slots__ = ["close_stdin", "resize", "start", "stdin"]
    CLOSE_STDIN_FIELD_NUMBER: _ClassVar[int]
    RESIZE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    close_stdin: bool
    resize: TerminalSize
    start: ExecStart
    stdin: bytes
    def __init__(self, start: _Optional[_Union[ExecStart, _Mapping]] = ..., stdin: _Optional[bytes] = ..., close_stdin: bool = ..., resize: _Optional[_Union[TerminalSize, _Mapping]] = ...) -> None: ...

class ExecContainerResponse(_message.Message):
    __slots__ = ["exit_code", "stderr", "stdout"]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    stderr: bytes
    stdout: bytes
    def __init__(self, stdout: _Optional[bytes] = ..., stderr: _Optional[bytes] = ..., exit_code: _Optional[int] = ...) -> None: ...

class ExecStart(_message.Message):
    __slots__ = ["command", "container", "env", "size", "stdin", "tty", "user", "workdir"]
    class EnvEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WORKDIR_FIELD_NUMBER: _ClassVar[int]
    command: _containers.RepeatedScalarFieldContainer[str]
    container: str
    env: _containers.ScalarMap[str, str]
    size: TerminalSize
    stdin: bool
    tty: bool
    user: str
    workdir: str
    def __init__(self, container: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., workdir: _Optional[str] = ..., user: _Optional[str] = ..., tty: bool = ..., stdin: bool = ..., size: _Optional[_Union[TerminalSize, _Mapping]] = ...) -> None: ...

class GetContainerRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetContainerStatsRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Healthcheck(_message.Message):
    __slots__ = ["cmd", "interval", "retries", "start_period", "timeout"]
    CMD_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    START_PERIOD_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    cmd: _containers.RepeatedScalarFieldContainer[str]
    interval: _duration_pb2.Duration
    retries: int
    start_period: _duration_pb2.Duration
    timeout: _duration_pb2.Duration
    def __init__(self, cmd: _Optional[_Iterable[str]] = ..., interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., retries: _Optional[int] = ..., start_period: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class KillContainerRequest(_message.Message):
    __slots__ = ["id", "signal"]
    ID_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    id: str
    signal: str
    def __init__(self, id: _Optional[str] = ..., signal: _Optional[str] = ...) -> None: ...

class ListContainersRequest(_message.Message):
    __slots__ = ["labels", "location", "name", "page_size", "page_token", "state"]
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
    STATE_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    location: _common_pb2.Location
    name: str
    page_size: int
    page_token: str
    state: Container.State
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., name: _Optional[str] = ..., state: _Optional[_Union[Container.State, str]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListContainersResponse(_message.Message):
    __slots__ = ["cloud_errors", "containers", "next_page_token"]
    CLOUD_ERRORS_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    cloud_errors: _containers.RepeatedCompositeFieldContainer[_common_pb2.CloudError]
    containers: _containers.RepeatedCompositeFieldContainer[Container]
    next_page_token: str
    def __init__(self, containers: _Optional[_Iterable[_Union[Container, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., cloud_errors: _Optional[_Iterable[_Union[_common_pb2.CloudError, _Mapping]]] = ...) -> None: ...

class PauseContainerRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class PortBinding(_message.Message):
    __slots__ = ["container_port", "host_ip", "host_port", "protocol"]
    CONTAINER_PORT_FIELD_NUMBER: _ClassVar[int]
    HOST_IP_FIELD_NUMBER: _ClassVar[int]
    HOST_PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    container_port: int
    host_ip: str
    host_port: int
    protocol: str
    def __init__(self, container_port: _Optional[int] = ..., protocol: _Optional[str] = ..., host_ip: _Optional[str] = ..., host_port: _Optional[int] = ...) -> None: ...

class ProcessRow(_message.Message):
    __slots__ = ["fields"]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, fields: _Optional[_Iterable[str]] = ...) -> None: ...

class ReadyProbe(_message.Message):
    __slots__ = ["command", "interval", "tcp_port", "timeout"]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    TCP_PORT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    command: ExecCommand
    interval: _duration_pb2.Duration
    tcp_port: int
    timeout: _duration_pb2.Duration
    def __init__(self, tcp_port: _Optional[int] = ..., command: _Optional[_Union[ExecCommand, _Mapping]] = ..., interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RenameContainerRequest(_message.Message):
    __slots__ = ["id", "name"]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class RestartContainerRequest(_message.Message):
    __slots__ = ["id", "timeout"]
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    id: str
    timeout: _duration_pb2.Duration
    def __init__(self, id: _Optional[str] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RestartPolicy(_message.Message):
    __slots__ = ["max_retries", "mode"]
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    MAX_RETRIES_FIELD_NUMBER: _ClassVar[int]
    MODE_ALWAYS: RestartPolicy.Mode
    MODE_FIELD_NUMBER: _ClassVar[int]
    MODE_ON_FAILURE: RestartPolicy.Mode
    MODE_UNLESS_STOPPED: RestartPolicy.Mode
    MODE_UNSPECIFIED: RestartPolicy.Mode
    max_retries: int
    mode: RestartPolicy.Mode
    def __init__(self, mode: _Optional[_Union[RestartPolicy.Mode, str]] = ..., max_retries: _Optional[int] = ...) -> None: ...

class RunInContainerRequest(_message.Message):
    __slots__ = ["start", "stdin"]
    START_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    start: ExecStart
    stdin: bytes
    def __init__(self, start: _Optional[_Union[ExecStart, _Mapping]] = ..., stdin: _Optional[bytes] = ...) -> None: ...

class RunInContainerResponse(_message.Message):
    __slots__ = ["exit_code", "stderr", "stdout", "truncated"]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    stderr: bytes
    stdout: bytes
    truncated: bool
    def __init__(self, exit_code: _Optional[int] = ..., stdout: _Optional[bytes] = ..., stderr: _Optional[bytes] = ..., truncated: bool = ...) -> None: ...

class StartContainerRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class StopContainerRequest(_message.Message):
    __slots__ = ["id", "timeout"]
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    id: str
    timeout: _duration_pb2.Duration
    def __init__(self, id: _Optional[str] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class StreamContainerStatsRequest(_message.Message):
    __slots__ = ["id", "interval"]
    ID_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    id: str
    interval: _duration_pb2.Duration
    def __init__(self, id: _Optional[str] = ..., interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class TerminalSize(_message.Message):
    __slots__ = ["height", "width"]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    height: int
    width: int
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class TopContainerRequest(_message.Message):
    __slots__ = ["id", "ps_args"]
    ID_FIELD_NUMBER: _ClassVar[int]
    PS_ARGS_FIELD_NUMBER: _ClassVar[int]
    id: str
    ps_args: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., ps_args: _Optional[_Iterable[str]] = ...) -> None: ...

class TopContainerResponse(_message.Message):
    __slots__ = ["processes", "titles"]
    PROCESSES_FIELD_NUMBER: _ClassVar[int]
    TITLES_FIELD_NUMBER: _ClassVar[int]
    processes: _containers.RepeatedCompositeFieldContainer[ProcessRow]
    titles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, titles: _Optional[_Iterable[str]] = ..., processes: _Optional[_Iterable[_Union[ProcessRow, _Mapping]]] = ...) -> None: ...

class UnpauseContainerRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class UpdateContainerRequest(_message.Message):
    __slots__ = ["cpu", "id", "memory_mib", "restart_policy"]
    CPU_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    RESTART_POLICY_FIELD_NUMBER: _ClassVar[int]
    cpu: float
    id: str
    memory_mib: int
    restart_policy: RestartPolicy
    def __init__(self, id: _Optional[str] = ..., cpu: _Optional[float] = ..., memory_mib: _Optional[int] = ..., restart_policy: _Optional[_Union[RestartPolicy, _Mapping]] = ...) -> None: ...

class WaitContainerRequest(_message.Message):
    __slots__ = ["condition", "id"]
    class Condition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    CONDITION_DELETED: WaitContainerRequest.Condition
    CONDITION_EXITED: WaitContainerRequest.Condition
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    CONDITION_READY: WaitContainerRequest.Condition
    CONDITION_RUNNING: WaitContainerRequest.Condition
    CONDITION_UNSPECIFIED: WaitContainerRequest.Condition
    ID_FIELD_NUMBER: _ClassVar[int]
    condition: WaitContainerRequest.Condition
    id: str
    def __init__(self, id: _Optional[str] = ..., condition: _Optional[_Union[WaitContainerRequest.Condition, str]] = ...) -> None: ...

class WatchContainersRequest(_message.Message):
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

class WatchContainersResponse(_message.Message):
    __slots__ = ["cloud_error", "container", "type"]
    class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    CLOUD_ERROR_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_ADDED: WatchContainersResponse.EventType
    EVENT_TYPE_CLOUD_ERROR: WatchContainersResponse.EventType
    EVENT_TYPE_DELETED: WatchContainersResponse.EventType
    EVENT_TYPE_MODIFIED: WatchContainersResponse.EventType
    EVENT_TYPE_SYNCED: WatchContainersResponse.EventType
    EVENT_TYPE_UNSPECIFIED: WatchContainersResponse.EventType
    TYPE_FIELD_NUMBER: _ClassVar[int]
    cloud_error: _common_pb2.CloudError
    container: Container
    type: WatchContainersResponse.EventType
    def __init__(self, type: _Optional[_Union[WatchContainersResponse.EventType, str]] = ..., container: _Optional[_Union[Container, _Mapping]] = ..., cloud_error: _Optional[_Union[_common_pb2.CloudError, _Mapping]] = ...) -> None: ...
