"""Re-execute notebooks in place and store their outputs (``make notebooks``).

Usage: ``python tests/execute_notebooks.py book [more paths...]``. Each notebook runs in
a fresh kernel of the current environment, from its own folder, with the same
environment variables as ``make test``, so the stored outputs are what nbval reproduces.
Every cell runs, also those tagged ``gpu``: where TensorFlow sees no GPU they skip
themselves with a printed note, which is what gets stored.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def notebooks(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(
                q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts and "_build" not in q.parts
            )
        else:
            found.append(p)
    return found


#: what ``make`` exports; the kernel inherits it, also when this script runs by hand
ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
}


def execute(path: Path, timeout: int = 600) -> float:
    for key, value in ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        skip_cells_with_tag="skip-execution",
    )
    client.execute()
    nbformat.write(nb, path)
    return time.perf_counter() - start


if __name__ == "__main__":
    for nb_path in notebooks(sys.argv[1:] or ["book"]):
        print(f"{nb_path}: {execute(nb_path):.1f} s", flush=True)
