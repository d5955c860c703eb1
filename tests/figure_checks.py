"""What every figure test checks besides the data: each panel that draws data is labelled."""

from __future__ import annotations

from matplotlib.figure import Figure


def assert_labelled(fig: Figure) -> None:
    """Every panel that shows data has both axis labels (the book's rule for figures)."""
    for ax in fig.axes:
        if ax.has_data():
            assert ax.get_xlabel().strip(), f"panel {ax.get_title()!r} has no x label"
            assert ax.get_ylabel().strip(), f"panel {ax.get_title()!r} has no y label"
