"""A chapter notebook is self-contained: downloaded alone, it runs with only the package.

nbval (``make test``) re-executes every notebook inside the repository. These tests check
what nbval cannot: that no notebook reads a file of the repository (data, recorded results
and figures come from ``normreg`` itself), and that a chapter copied out of the repository
reproduces its stored outputs there.
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


@pytest.mark.parametrize("name", ["02_norms.ipynb", "06_choosing_lambda.ipynb"])
def test_chapter_downloaded_alone_reproduces_its_outputs(name: str, tmp_path: Path):
    """Chapter 6 also reads recorded benchmark results: from the package, not the repository."""
    copy = tmp_path / name
    shutil.copy(BOOK / name, copy)
    stored = _text_outputs(nbformat.read(copy, as_version=4))
    execute(copy)
    assert _text_outputs(nbformat.read(copy, as_version=4)) == stored
