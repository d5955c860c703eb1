"""normreg.keras on the other Keras backends: ProximalOptimizer's and prune_zero_units's tests
again under JAX (Keras's stateless train step, jax.jit) and, where PyTorch is installed,
under PyTorch (requirements.txt installs JAX only, to keep the environment small; the
PyTorch run is skipped without it).

Keras fixes its backend once per process, so the backend-neutral test files run in a
subprocess with KERAS_BACKEND=jax. The slowest convergence checks (and the TensorFlow-only
MirroredStrategy one) stay on the TensorFlow run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# left to the TensorFlow run: the TensorFlow-only check, the slow convergence checks, the
# subprocess round trips, the train-then-prune run and the hypothesis sweep (each is
# backend-neutral code tested there)
SLOW_OR_TF_ONLY = (
    "not mirrored and not momentum_fixed_point and not reaches_the_lasso and not needs_import"
    " and not any_zero_pattern and not then_prune"
)


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow", reason="run from the main backend")
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_proximal_and_pruning_tests_pass_on_another_backend(backend):
    pytest.importorskip(backend)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
    env.pop("PYTEST_XDIST_WORKER", None)
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:xdist", "-x",
        "tests/test_keras_proximal.py", "tests/test_keras_pruning.py", "-k", SLOW_OR_TF_ONLY,
    ]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    tail = (out.stdout + out.stderr)[-4000:]
    assert out.returncode == 0, tail
    summary = out.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary and "error" not in summary, tail
