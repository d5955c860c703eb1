"""Does TensorFlow see a GPU here? Shared by the nbval hook (conftest.py) and ``make notebooks``.

The answer comes from a subprocess, so that asking does not import TensorFlow into the
test process (and costs nothing where no notebook has a ``gpu`` cell).
"""

from __future__ import annotations

import functools
import subprocess
import sys

GPU_TAG = "gpu"


@functools.cache
def tensorflow_sees_gpu() -> bool:
    code = "import tensorflow as tf, sys; sys.exit(0 if tf.config.list_physical_devices('GPU') else 1)"
    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
