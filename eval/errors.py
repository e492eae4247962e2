"""The one exception type of the ``eval`` package."""


class EvalError(Exception):
    """An evaluation input or option a user has to fix; the message is one actionable sentence."""
