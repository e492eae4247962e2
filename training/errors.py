"""The error of the training application: a bad training config, dataset or run, said in one sentence."""
from __future__ import annotations

from common.errors import UserError


class TrainingError(UserError):
    """A training run cannot go on; the message says why and what to change."""
