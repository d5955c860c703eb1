"""What every figure of the book shares: size, style and a seeded look."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

#: Width of one panel in inches; a row of panels scales with it.
PANEL_WIDTH = 4.0
PANEL_HEIGHT = 3.2


def new_figure(ncols: int = 1, nrows: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    """A figure with ``nrows x ncols`` panels of the book's size; returns ``(fig, axes)``.

    ``axes`` is a single :class:`~matplotlib.axes.Axes` for one panel, else an array.
    """
    kwargs.setdefault("figsize", (PANEL_WIDTH * ncols, PANEL_HEIGHT * nrows))
    kwargs.setdefault("layout", "constrained")
    fig, axes = plt.subplots(nrows, ncols, **kwargs)
    return fig, axes


def label(ax: Axes, xlabel: str, ylabel: str, title: str | None = None) -> Axes:
    """Label both axes (every figure of the book has labelled axes) and optionally a title."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax
