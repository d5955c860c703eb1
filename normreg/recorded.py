"""Benchmark results recorded by ``make bench``, shipped with the package.

The book's chapters on cost plot measured figures without re-running the benchmarks
(which take minutes and depend on the machine). ``make bench`` writes each benchmark's
results, with the machine, backend and library versions that produced them, as JSON
into this package, so that a chapter notebook downloaded on its own still finds them
with only ``normreg`` installed.

Example
-------
>>> from normreg import recorded
>>> "penalties_cpu" in recorded.available()
True
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["available", "load"]

_FOLDER = "_recorded"


def available() -> list[str]:
    """Names of the recorded result sets, e.g. ``["penalties_cpu", "solvers"]``."""
    folder = resources.files("normreg").joinpath(_FOLDER)
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def load(name: str) -> dict[str, Any]:
    """The recorded results called ``name`` (see :func:`available`), as a dict."""
    names = available()
    if name not in names:
        raise ValueError(f"name must be one of the recorded result sets {names}; got {name!r}")
    text = resources.files("normreg").joinpath(_FOLDER, f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)
