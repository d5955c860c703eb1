"""Figures of the book, one module per chapter; each function returns the figure and the data it drew.

Importing :mod:`normreg.viz` needs matplotlib (``pip install "normreg[plot]"``); the rest of
normreg does not.
"""

from ._common import new_figure

__all__ = ["new_figure"]
