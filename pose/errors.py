"""The one exception type of the ``pose`` package."""
from common.errors import UserError


class PoseError(UserError):
    """A pose-model, config or checkpoint problem, carrying one sentence a user can act on."""
