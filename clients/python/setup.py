"""Build hook: the generated gRPC code (package ``canopy.v1``) is produced at
build time from canopy's protos with grpcio-tools' protoc, so the wheel (and
``pip install clients/python``) carries it and nothing generated is checked
in. The protos are read from ``proto/`` beside this file (an sdist carries
them there) or from the repository root (a checkout).

The runtime requirements follow the generator: code from grpcio-tools X
needs grpcio >= X, and code from its protoc needs a protobuf runtime of the
same major version, at least as new.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent


def proto_root() -> Path:
    for cand in (HERE / "proto", HERE.parent.parent / "proto"):
        if (cand / "canopy" / "v1").is_dir():
            return cand
    raise SystemExit("canopy's protos not found: expected proto/canopy/v1 beside setup.py or at the repository root")


def generate(out: Path) -> None:
    from grpc_tools import protoc

    root = proto_root()
    wkt = importlib.resources.files("grpc_tools") / "_proto"
    files = sorted(p.relative_to(root).as_posix() for p in (root / "canopy" / "v1").glob("*.proto"))
    out.mkdir(parents=True, exist_ok=True)
    args = ["grpc_tools.protoc", f"-I{root}", f"-I{wkt}", f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *files]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed on " + " ".join(files))
    for d in (out / "canopy", out / "canopy" / "v1"):
        (d / "__init__.py").write_text('"""Generated at build time from canopy\'s protos. Do not edit."""\n')
    (out / "canopy" / "py.typed").write_text("")


class BuildPy(build_py):
    """build_py, then the generated code into the build tree."""

    def run(self) -> None:
        super().run()
        if not self.dry_run:
            generate(Path(self.build_lib))


class Sdist(sdist):
    """An sdist carries the protos, so a wheel builds from it alone."""

    def make_release_tree(self, base_dir, files) -> None:
        super().make_release_tree(base_dir, files)
        src = proto_root() / "canopy" / "v1"
        dst = Path(base_dir) / "proto" / "canopy" / "v1"
        dst.mkdir(parents=True, exist_ok=True)
        for p in src.glob("*.proto"):
            shutil.copy2(p, dst / p.name)


def runtime_requirements() -> list[str]:
    tools = importlib.metadata.version("grpcio-tools")
    pb = importlib.metadata.version("protobuf")
    pb_major = int(pb.split(".")[0])
    return [
        f"grpcio>={tools}",
        f"protobuf>={pb},<{pb_major + 1}",
        "googleapis-common-protos>=1.63",
    ]


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist}, install_requires=runtime_requirements())
