"""Sphinx extension: the book's own checks and its offline clean-up.

1. Fail the book on a notebook whose stored outputs hold an error or stderr. The book
   renders outputs stored in the notebooks without executing them, and Jupyter Book would
   render a stored traceback as if it were content. Every stored ``error`` output and every
   ``stderr`` stream in every notebook of the book is reported as a warning, on every build
   (not only for the notebooks Sphinx re-reads), so that ``make book`` (``-W``) fails.
2. Drop Thebe. Jupyter Book always loads sphinx-thebe, whose live-code button fetches
   its JavaScript from a CDN and needs a Binder server: neither works offline, and its
   inline configuration script is added twice, a JavaScript error on every page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def drop_thebe(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    def is_thebe(script: Any) -> bool:
        return "thebe" in str(script).lower() or "THEBE" in getattr(script, "attributes", {}).get("body", "")

    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not is_thebe(s)]
    if "css_files" in context:
        context["css_files"] = [c for c in context["css_files"] if "thebe" not in str(c).lower()]


def setup(app: Sphinx) -> dict[str, bool]:
    app.connect("env-updated", check_stored_outputs)
    app.connect("html-page-context", drop_thebe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
