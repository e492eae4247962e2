"""The base of every hrtrack exception, and the one exception type of the ``common`` package."""


class UserError(Exception):
    """A problem the user has to fix, carried as one sentence they can act on.

    Each package raises its own subclass (PoseError, EvalError, ...); the CLI runner catches this base.
    """


class DownloadError(UserError):
    """A download that failed, was damaged or was interrupted; nothing was saved."""
