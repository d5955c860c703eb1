"""Sphinx extension: fail the book on a notebook whose stored outputs hold an error or stderr.

The book renders outputs stored in the notebooks without executing them, and Jupyter Book
would render a stored traceback as if it were content. This extension warns for every
stored ``error`` output and every ``stderr`` stream in every notebook of the book, on every
build (not only for the notebooks Sphinx re-reads), so that ``make book`` (``-W``) fails.
"""

from __future__ import annotations

import json
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)


def check_stored_outputs(app: Sphinx, env: BuildEnvironment) -> None:
    for docname in sorted(env.found_docs):
        path = Path(env.doc2path(docname))
        if path.suffix != ".ipynb":
            continue
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        for index, cell in enumerate(cells):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    what = f"a stored error ({out.get('ename')}: {out.get('evalue')})"
                elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                    what = "stored stderr output"
                else:
                    continue
                logger.warning(f"cell {index} has {what}; re-run `make notebooks`", location=docname)


def setup(app: Sphinx) -> dict[str, bool]:
    app.connect("env-updated", check_stored_outputs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
