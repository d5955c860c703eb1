"""The package as a reader installs it: a wheel with normreg alone, importable without TensorFlow."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_does_not_pull_in_tensorflow_or_keras():
    code = (
        "import sys, normreg, normreg.conventions; print(sorted(m for m in sys.modules"
        " if m.split('.')[0] in {'tensorflow', 'keras', 'matplotlib', 'sklearn'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build``: an sdist and a wheel, as they would be uploaded."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (whl,) = dist.glob("normreg-*.whl")
    return whl


def test_distributions_pass_twine_check(dist: Path):
    files = sorted(str(p) for p in dist.iterdir())
    assert len(files) == 2 and files[0].endswith(".tar.gz") or files[1].endswith(".tar.gz")
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2


def test_sdist_holds_the_package_and_its_metadata_only(dist: Path):
    (sdist,) = dist.glob("normreg-*.tar.gz")
    names = [n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n]
    assert {"pyproject.toml", "README.md", "LICENSE", "normreg/__init__.py", "normreg/py.typed"} <= set(names)
    assert not any(n.startswith(("book/", "tests/", "benchmarks/", ".ci/")) for n in names)


def readme_example() -> str:
    """The first Python block of README.md: what a reader copies first."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"```python\n(.*?)```", text, flags=re.S)
    assert match, "README.md has no python example"
    return match.group(1)


def test_wheel_contains_only_the_package(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"normreg", next(t for t in top if t.endswith(".dist-info"))}
    assert {"normreg/py.typed", "normreg/viz/__init__.py", "normreg/penalties.py"} <= set(names)
    # the recorded benchmark results that the chapters read through normreg.recorded
    assert {"normreg/_recorded/penalties_cpu.json", "normreg/_recorded/solvers.json"} <= set(names)
    assert not any(n.endswith(".ipynb") or "tests/" in n or "book/" in n for n in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: numpy" in metadata
    assert 'Requires-Dist: tensorflow>=2.16; extra == "tf"' in metadata
    # the backend-neutral extra brings Keras alone: a reader with tensorflow-cpu must not get
    # a second TensorFlow distribution in the same tensorflow/ folder
    keras_extra = [line for line in metadata.splitlines() if line.endswith('extra == "keras"')]
    assert keras_extra == ['Requires-Dist: keras>=3.0; extra == "keras"']
    assert 'Requires-Dist: jax>=0.4.30; extra == "jax"' in metadata


def test_wheel_installs_in_a_clean_venv_and_runs_without_tensorflow(wheel: Path, tmp_path: Path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(wheel)], check=True, capture_output=True)
    # the README's example runs as written
    subprocess.run([str(py), "-c", readme_example()], check=True, capture_output=True, cwd=tmp_path)
    smoke = (
        "import sys, numpy as np, normreg as nr\n"
        "assert abs(nr.norm(np.array([3e200, 4e200])) / 5e200 - 1) < 1e-15\n"
        "assert nr.L1(0.1).prox(np.array([0.05, 1.0]), 1.0)[0] == 0.0\n"
        "from normreg import recorded; assert recorded.load('solvers')['cases']['path']['n_lams'] == 50\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
        "print('ok', nr.__version__)\n"
    )
    out = subprocess.run([str(py), "-c", smoke], check=True, capture_output=True, text=True, cwd=tmp_path).stdout
    assert out.startswith("ok 0.1.0")
