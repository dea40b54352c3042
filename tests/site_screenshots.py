"""Open the built documentation site in headless Chromium and save screenshots.

Usage: ``python tests/site_screenshots.py [SITE] [OUT]`` (defaults ``site`` and
``build/site-screenshots``), after ``mkdocs build --strict``. Run by .ci/run, which
installs Debian's ``chromium`` first.

The site is served over HTTP on 127.0.0.1, as ``mkdocs serve`` or any host would
(the theme's scripts do not all run from ``file://``). For the home page and one
rule page this saves a screenshot and checks what the browser actually rendered
(the DOM after the scripts ran): the page's own heading and text, the theme's
header and the navigation. The screenshots are for people to look at; the DOM
checks are what fails the run.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

#: (screenshot name, path on the site, texts the rendered page must contain)
PAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("home", "/", ("hookpipe makes the order explicit", "md-header", "The language", "Diagnostic codes")),
    ("rule-HP005", "/rules/HP005/", ("HP005: effect order violated", "Failing example", "md-header", "HP004")),
)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the CI log to the results."""


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit(f"site_screenshots: no browser found ({', '.join(BROWSERS)}); apt-get install -y chromium")


def chromium(exe: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless run; --no-sandbox because CI runs as root, which Chromium's sandbox refuses."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
             "--no-first-run", "--window-size=1280,1000", "--virtual-time-budget=5000"]
    return subprocess.run([exe, *flags, *args], capture_output=True, text=True, timeout=120)


def main(argv: list[str]) -> int:
    site = Path(argv[1] if len(argv) > 1 else "site").resolve()
    out = Path(argv[2] if len(argv) > 2 else "build/site-screenshots").resolve()
    if not (site / "index.html").is_file():
        print(f"site_screenshots: {site}/index.html not found: run `mkdocs build --strict` first", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    exe = browser()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    failures = []
    try:
        for name, path, expected in PAGES:
            url = f"http://127.0.0.1:{server.server_address[1]}{path}"
            shot = out / f"{name}.png"
            shot.unlink(missing_ok=True)
            chromium(exe, f"--screenshot={shot}", url)
            dom = chromium(exe, "--dump-dom", url).stdout
            missing = [text for text in expected if text not in dom]
            if not shot.is_file() or shot.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n" or shot.stat().st_size < 10_000:
                failures.append(f"{name}: no screenshot at {shot}")
            if missing:
                failures.append(f"{name} ({url}): the rendered page lacks {missing}")
            print(f"site_screenshots: {name}: {shot} ({shot.stat().st_size if shot.is_file() else 0} bytes)")
    finally:
        server.shutdown()
    for failure in failures:
        print(f"site_screenshots: FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
