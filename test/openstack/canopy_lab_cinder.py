"""A Cinder volume driver for canopy's lab: python3-cinder's fake driver
(there is no device-mapper in this kernel, so no LVM), with real bytes.

Each volume is a sparse file of its size under $state_path/canopy-volumes
(snapshots beside it), so what canopy writes into a volume can be read back
through every path Cinder offers: upload-to-image (copy_volume_to_image),
volume-from-image and reimage (copy_image_to_volume), snapshots, clones,
and cinder-backup, which reaches the file through os-brick's "local"
connector (initialize_connection answers with the file's path). Volumes
made before this driver kept bytes get their file on first use.
"""

import os
import subprocess

from oslo_config import cfg

from cinder.tests import fake_driver
from cinder.volume import volume_utils

CONF = cfg.CONF
GiB = 1 << 30
CHUNK = 1 << 20


def _dir():
    d = os.path.join(CONF.state_path, "canopy-volumes")
    os.makedirs(d, exist_ok=True)
    return d


def _sparse_copy(src, dst):
    subprocess.run(["cp", "--sparse=always", src, dst], check=True)


class CanopyFakeVolumeDriver(fake_driver.FakeLoggingVolumeDriver):
    def _path(self, volume):
        """The volume's file, made (all zeros) if it has none yet."""
        p = os.path.join(_dir(), volume.id)
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.truncate(volume.size * GiB)
        return p

    def _snap_path(self, snapshot):
        return os.path.join(_dir(), snapshot.id + ".snap")

    @volume_utils.trace_method
    def create_volume(self, volume):
        update = super().create_volume(volume)
        p = os.path.join(_dir(), volume.id)
        with open(p, "wb") as f:
            f.truncate(volume.size * GiB)
        return update

    @volume_utils.trace_method
    def delete_volume(self, volume):
        super().delete_volume(volume)
        try:
            os.unlink(os.path.join(_dir(), volume.id))
        except FileNotFoundError:
            pass

    @volume_utils.trace_method
    def extend_volume(self, volume, new_size):
        with open(self._path(volume), "r+b") as f:
            f.truncate(new_size * GiB)

    @volume_utils.trace_method
    def create_snapshot(self, snapshot):
        _sparse_copy(self._path(snapshot.volume), self._snap_path(snapshot))

    @volume_utils.trace_method
    def delete_snapshot(self, snapshot):
        try:
            os.unlink(self._snap_path(snapshot))
        except FileNotFoundError:
            pass

    def _from_file(self, volume, src):
        dst = os.path.join(_dir(), volume.id)
        if os.path.exists(src):
            _sparse_copy(src, dst)
        with open(dst, "ab") as f:
            f.truncate(volume.size * GiB)

    @volume_utils.trace_method
    def create_volume_from_snapshot(self, volume, snapshot):
        self._from_file(volume, self._snap_path(snapshot))

    @volume_utils.trace_method
    def create_cloned_volume(self, volume, src_vref):
        self._from_file(volume, self._path(src_vref))

    @volume_utils.trace_method
    def copy_image_to_volume(self, context, volume, image_service, image_id, disable_sparse=False):
        """Writes a raw image's bytes at the start of the volume; the rest
        is zeroed (a volume from an image, or a reimage, holds the image)."""
        p = self._path(volume)
        with open(p, "r+b") as f:
            f.truncate(0)
            image_service.download(context, image_id, data=f)
            f.truncate(volume.size * GiB)

    @volume_utils.trace_method
    def copy_volume_to_image(self, context, volume, image_service, image_meta):
        with open(self._path(volume), "rb") as f:
            image_service.update(context, image_meta["id"], {}, f)

    def clone_image(self, context, volume, image_location, image_meta, image_service):
        return None, False

    def initialize_connection(self, volume, connector):
        # os-brick's LocalConnector hands the path to cinder-backup, which
        # opens it; nova's fake virt driver does not look.
        return {"driver_volume_type": "local",
                "data": {"device_path": self._path(volume), "volume_id": volume.id, "access_mode": "rw"}}

    def initialize_connection_snapshot(self, snapshot, connector, **kwargs):
        return {"driver_volume_type": "local",
                "data": {"device_path": self._snap_path(snapshot), "access_mode": "ro"}}


