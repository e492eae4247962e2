"""The one exception type of the ``pose`` package."""


class PoseError(Exception):
    """A pose-model, config or checkpoint problem, carrying one sentence a user can act on."""
