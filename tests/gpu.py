"""Does TensorFlow see a GPU here? Used by the nbval hook (``tests/pytest_book.py``).

The answer comes from a subprocess, so that asking does not import TensorFlow into the
test process (and costs nothing where no notebook has a ``gpu`` cell).
"""

from __future__ import annotations

import functools
import subprocess
import sys

import nbformat

GPU_TAG = "gpu"


@functools.cache
def tensorflow_sees_gpu() -> bool:
    code = "import tensorflow as tf, sys; sys.exit(0 if tf.config.list_physical_devices('GPU') else 1)"
    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def gpu_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the code cells tagged ``gpu``."""
    return [k for k, c in enumerate(nb.cells) if c.cell_type == "code" and GPU_TAG in c.metadata.get("tags", [])]
