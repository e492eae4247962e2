"""The one exception type of the ``eval`` package."""
from common.errors import UserError


class EvalError(UserError):
    """An evaluation input or option a user has to fix; the message is one actionable sentence."""
