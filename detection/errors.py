"""The one exception type of the detection package."""
from __future__ import annotations

from common.errors import UserError


class DetectionError(UserError):
    """A detection problem, carrying one sentence a user can act on (which file, what to do)."""
