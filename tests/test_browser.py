"""The built book in a real browser: every page of the table of contents, offline.

Builds the book (as ``make book`` does, into a temporary folder), then opens each page in
headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it) through Playwright and
asserts: no console errors, math rendered by the bundled MathJax with no raw TeX left, every
image loaded, no request leaving the local files, and every internal link resolving to a
page and anchor of the book. A screenshot of each page goes to ``_build/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not found (apt-get install chromium; .ci/run does)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (it is in requirements.txt)")


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [ch["file"] for ch in part["chapters"]]
    return pages


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"],
        capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == 0, f"the book did not build:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    return out / "_build" / "html"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield b
        b.close()


def _ids(path: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page_name", toc_pages())
def test_page_works_offline(page_name: str, html: Path, browser) -> None:
    path = html / f"{page_name}.html"
    assert path.exists(), f"{page_name} was not built"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    remote: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None)
    page.goto(path.as_uri(), wait_until="load")
    # wait for MathJax to typeset (it is loaded from _static/mathjax, not a CDN)
    page.evaluate("() => (window.MathJax && MathJax.startup && MathJax.startup.promise) || null")
    page.wait_for_timeout(300)

    assert remote == [], f"requests leaving the local files: {remote}"
    assert problems == [], "\n".join(problems)

    n_math_src = page.locator(".math").count()
    if n_math_src:
        assert page.locator("mjx-container").count() >= n_math_src, "math not rendered by MathJax"
    # the prose as a reader sees it, code blocks left out (code may legitimately hold "\\[" or "$$")
    text = page.evaluate(
        "() => { const m = document.querySelector('main').cloneNode(true);"
        " m.querySelectorAll('pre, code, mjx-container').forEach(e => e.remove()); return m.innerText; }"
    )
    raw = re.search(r"\\\(|\\\[|\$\$", text)
    assert raw is None, f"raw TeX visible on the page: ...{text[max(raw.start() - 80, 0):raw.end() + 80]}..."

    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert broken == [], f"images that did not load: {broken}"

    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    for href in hrefs:
        url = urlsplit(href)
        if url.scheme != "file":
            continue
        target = Path(unquote(url.path))
        assert target.exists(), f"link to a missing file: {href}"
        if url.fragment and target.suffix == ".html":
            assert unquote(url.fragment) in _ids(target), f"link to a missing anchor: {href}"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{page_name.replace('/', '_')}.png"))
    context.close()


def test_search_works_offline(html: Path, browser) -> None:
    """The search page finds a term that chapters 3 and 4 use, from the local index alone."""
    page = browser.new_page()
    remote: list[str] = []
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None)
    page.goto((html / "search.html").as_uri() + "?q=soft-thresholding", wait_until="load")
    page.wait_for_selector("ul.search li", timeout=20_000)
    hits = page.locator("ul.search li a").all_inner_texts()
    assert remote == []
    assert any("Penalties" in h for h in hits) and any("optimization" in h for h in hits), hits
    page.close()
