"""A Cinder volume driver for canopy's lab: python3-cinder's fake driver,
plus the two operations canopy's tests exercise that it cannot do on this
kernel (no device-mapper, so no LVM): resizing a volume and filling one
from an image. The fake driver keeps volumes as database state only, so
both are bookkeeping, like everything else it does.
"""

from cinder.tests import fake_driver
from cinder.volume import volume_utils


class CanopyFakeVolumeDriver(fake_driver.FakeLoggingVolumeDriver):
    @volume_utils.trace_method
    def extend_volume(self, volume, new_size):
        pass

    @volume_utils.trace_method
    def copy_image_to_volume(self, context, volume, image_service, image_id, disable_sparse=False):
        pass

    @volume_utils.trace_method
    def copy_volume_to_image(self, context, volume, image_service, image_meta):
        pass

    def clone_image(self, context, volume, image_location, image_meta, image_service):
        return None, False
