"""``make bench``'s driver can run every benchmark it lists.

``benchmarks/run_all.py`` runs each module in a child process that calls its ``main()``
and captures what its ``run(...)`` returned, then turns that into rows with the module's
rows function. A module without ``run`` fails only at ``make bench`` time (it did: see
the CHANGELOG), so the contract is checked here, statically, without importing the
modules (several import TensorFlow).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))
import run_all  # noqa: E402


@pytest.mark.parametrize("name", sorted(run_all.BENCHMARKS))
def test_every_listed_benchmark_has_run_main_and_rows(name: str):
    module = run_all.BENCHMARKS[name][0]
    tree = ast.parse((BENCH / f"{module}.py").read_text())
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert {"run", "main"} <= functions, f"{module}.py defines {sorted(functions)}"
    assert name in run_all.ROWS, f"run_all.ROWS has no rows function for {name!r}"
