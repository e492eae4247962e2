"""The one exception type of the ``tracker`` package."""


class TrackerError(Exception):
    """A video, option or output problem of the tracking pipeline, as one sentence a user can act on."""
