"""The one exception type of the flow package."""
from __future__ import annotations


class FlowError(Exception):
    """An optical-flow problem, carrying one sentence a user can act on (what to install, where)."""
