"""The one exception type of the ``tracker`` package."""
from common.errors import UserError


class TrackerError(UserError):
    """A video, option or output problem of the tracking pipeline, as one sentence a user can act on."""
