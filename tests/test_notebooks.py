"""A chapter notebook is self-contained: downloaded alone, it runs with only the package.

nbval (``make test``) re-executes every notebook inside the repository. These tests check
what nbval cannot: that no notebook reads a file of the repository (data, recorded results
and figures come from ``normreg`` itself), that a chapter copied out of the repository
reproduces its stored outputs there, and that a notebook with ``gpu`` cells runs to the
end as a reader runs it (plain nbclient, no test-harness hook that could hide a failure).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from execute_notebooks import execute, notebooks  # noqa: E402
from gpu import gpu_cells, tensorflow_sees_gpu  # noqa: E402

BOOK = Path(__file__).resolve().parents[1] / "book"
# reading files, or naming places that exist only in a clone of the repository
FILE_ACCESS = re.compile(
    r"\bopen\(|pathlib|\bPath\(|\.\./|read_csv|np\.load\(|json\.load\(|\bbenchmarks/|_recorded|book/"
)


@pytest.mark.parametrize("path", notebooks([str(BOOK)]), ids=lambda p: p.name)
def test_notebook_reads_no_repository_files(path: Path):
    nb = nbformat.read(path, as_version=4)
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            hit = FILE_ACCESS.search(cell.source)
            context = cell.source[max(hit.start() - 40, 0) : hit.end() + 40] if hit else ""
            assert hit is None, f"{path.name} cell {k} reads a file: {context!r}"


def _text_outputs(nb: nbformat.NotebookNode) -> list[str]:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                out.append(o["text"])
            elif "data" in o and "text/plain" in o["data"]:
                out.append(o["data"]["text/plain"])
    return ["".join(out)]


def _notebooks_with_gpu_cells() -> list[Path]:
    return [p for p in notebooks([str(BOOK)]) if gpu_cells(nbformat.read(p, as_version=4))]


@pytest.mark.parametrize("path", _notebooks_with_gpu_cells(), ids=lambda p: p.name)
def test_chapter_downloaded_alone_runs_as_a_reader_runs_it(path: Path, tmp_path: Path):
    """Downloaded alone and run with nbclient (what "Run all" and ``nbconvert --execute``
    do, with no test-harness hook that could hide a failure): every cell runs, ``gpu``
    cells included, and the notebook finishes. Without a GPU each ``gpu`` cell must say
    that it skipped itself and print nothing else, and every stored output comes back,
    recorded benchmark figures included (they come from the package, not the repository).

    One execution serves both checks: the notebooks with ``gpu`` cells are the ones that
    read recorded results, so they are the ones a copy outside the repository could break
    (the static test above covers every notebook)."""
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    stored = nbformat.read(copy, as_version=4)
    execute(copy)  # nbclient raises CellExecutionError on the first cell that fails
    nb = nbformat.read(copy, as_version=4)
    errors = [k for k, c in enumerate(nb.cells) for o in c.get("outputs", [])
              if o.get("output_type") == "error" or o.get("name") == "stderr"]
    assert not errors, f"{path.name}: cells {errors} wrote an error or stderr"
    if not tensorflow_sees_gpu():
        for k in gpu_cells(nb):
            text = "".join(o.get("text", "") for o in nb.cells[k].outputs)
            assert text.startswith("No GPU"), f"{path.name} cell {k} printed {text[:200]!r}"
            assert text.count("\n") == 1, f"{path.name} cell {k}: more than the note {text!r}"
        # the book stores the note of a GPU-less run (tests/pytest_book.py), so here every
        # output must come back as stored
        assert _text_outputs(nb) == _text_outputs(stored), f"{path.name}: outputs differ when run alone"
