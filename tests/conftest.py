"""Shared fixtures: the reference data folder `../shared/reference/` beside the project."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REFERENCE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The reference folder; skips when it is absent, fails instead when CI requires it."""
    if not REFERENCE_DIR.is_dir():
        message = f"reference data absent: {REFERENCE_DIR} does not exist"
        if os.environ.get("HRTRACK_REQUIRE_REFERENCE") == "1":
            pytest.fail(message + " (HRTRACK_REQUIRE_REFERENCE=1)")
        pytest.skip(message)
    return REFERENCE_DIR
