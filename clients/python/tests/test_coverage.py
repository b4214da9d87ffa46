"""Every RPC of every service is called by this suite at least once."""

import pathlib
import re

from canopy.v1 import (auth_pb2, cloud_pb2, compute_pb2, container_pb2, image_transfer_pb2, network_pb2, object_pb2,
                       operation_pb2, volume_pb2)

# RPCs reached through the client's helpers rather than by name.
HELPERS = {"UploadObject": "upload_object", "DownloadObject": "download_object",
           "UploadImage": "upload_image", "DownloadImage": "download_image",
           "WaitOperation": "client.wait("}


def test_every_rpc_is_called():
    src = "".join(p.read_text() for p in pathlib.Path(__file__).parent.glob("test_*.py") if p.name != "test_coverage.py")
    missing = []
    for mod in (auth_pb2, cloud_pb2, compute_pb2, container_pb2, image_transfer_pb2, network_pb2, object_pb2, operation_pb2,
                volume_pb2):
        for svc in mod.DESCRIPTOR.services_by_name.values():
            for m in svc.methods:
                if not re.search(r"\." + m.name + r"\b", src) and HELPERS.get(m.name, "\0") not in src:
                    missing.append(f"{svc.name}.{m.name}")
    assert not missing, "RPCs no test calls: " + ", ".join(missing)
