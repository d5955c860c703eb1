"""Fixtures shared by the test files (the project's pytest plugin is tests/pytest_book.py)."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test made (only where matplotlib is in use at all)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
