"""The one exception type of the flow package."""
from __future__ import annotations

from common.errors import UserError


class FlowError(UserError):
    """An optical-flow problem, carrying one sentence a user can act on (what to install, where)."""
