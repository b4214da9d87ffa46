"""Lab-only fix for Debian 12's Cinder with notifications on.

cinder 21.3.1 with oslo.messaging 14.0.3: the notifier strips the request
context to oslo's "safe" keys (_sanitize_context) and rebuilds it with
RequestContext.from_dict, which passes read_deleted=None; cinder's setter
rejects None (ValueError "read_deleted can only be one of 'no', 'yes' or
'only', not None"), so every call that notifies fails (HTTP 500, volumes
in error). Here a missing read_deleted means cinder's own default, 'no'.

Imported by the lab's cinder launchers (up.sh) after cinder.cmd.* (which
monkey-patches eventlet first), before main().
"""

from cinder import context

_orig_set = context.RequestContext._set_read_deleted


def _set_read_deleted(self, read_deleted):
    _orig_set(self, "no" if read_deleted is None else read_deleted)


context.RequestContext._set_read_deleted = _set_read_deleted
context.RequestContext.read_deleted = property(
    context.RequestContext._get_read_deleted, _set_read_deleted,
    context.RequestContext._del_read_deleted)
