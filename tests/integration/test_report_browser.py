"""report.html in a real headless Chromium: a job run by the CLI against the Connect emulator,
its page served from loopback, read back through the DevTools protocol (tests/browser.py)."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import Counter
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from connect_profiles.domain.model import INPUT_COLUMNS
from connect_profiles.entrypoints.cli import main
from tests import browser as browser_module
from tests.browser import Browser, BrowserError, Page, read_png
from tests.conftest import RunningEmulator

HOSTILE = "<script>alert('report')</script>"
ROWS = [
    ("jdoe", "username", "add", "language", "French", "4"),
    ("jdoe", "username", "update", "language", "English", "5"),
    ("Maria.Garcia", "username", "add", "skill", "Sales", "2"),
    ("Maria.Garcia", "username", "add", "skill", "Sales", "2"),  # a duplicate: skipped
    ("ghost", "username", "add", "tier", "Tier1", "1"),  # no such user: failed
    ("jdoe", "username", "add", "tier", "Tier2", "6"),  # a bad level: failed
    ("jdoe", "username", "add", "language", HOSTILE, "1"),  # not a value of the attribute: failed
]
# The counts block, read in the page as a person sees it: status -> the number shown.
COUNTS_JS = """JSON.stringify(Object.fromEntries([...document.querySelectorAll('#counts [data-status]')]
  .map(e => [e.dataset.status, Number(e.querySelector('.count').textContent)])))"""


class _Server:
    """The out folder over loopback HTTP, remembering every path asked for."""

    def __init__(self, root: Path) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                paths.append(self.path)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/{name}"

    def __enter__(self) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def job_out(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A real job's files: the CLI applies a file of successes, a skip and failures."""
    jdoe = next(u for u in emulator.instance.users.values() if u.username == "jdoe")
    jdoe.proficiencies = {("language", "English"): 2.0}
    changes = tmp_path / "team changes.csv"
    with changes.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([INPUT_COLUMNS, *ROWS])
    monkeypatch.setenv("AWS_ENDPOINT_URL_CONNECT", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SERVICE_QUOTAS", emulator.endpoint_url)
    out = tmp_path / "out"
    status = main(["apply", str(changes), "--out", str(out), "--instance-id", emulator.instance.id])
    assert status == 1  # rows failed
    return out


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    with Browser(tmp_path / "profile") as running:
        yield running


@pytest.fixture
def served(job_out: Path) -> Iterator[_Server]:
    with _Server(job_out) as server:
        yield server


def _report_counts(out: Path) -> Counter[str]:
    rows = csv.DictReader(io.StringIO((out / "report.csv").read_text(encoding="utf-8-sig")))
    return Counter(row["status"] for row in rows)


def _open(browser: Browser, served: _Server) -> Page:
    return browser.open(served.url("report.html"))


def test_the_page_loads_cleanly_fetches_only_itself_and_shows_the_jobs_counts(
    job_out: Path, served: _Server, browser: Browser
) -> None:
    # Given the page of a job with successes, a skip and failures, opened in Chromium
    page = _open(browser, served)
    # Then nothing went wrong: no console error or warning (a CSP refusal would be one), no exception
    assert page.problems() == []
    # And the page was the one request, as the browser and the server both saw it: no favicon, no asset
    assert page.requests() == [served.url("report.html")]
    assert served.paths == ["/report.html"]
    # And the counts a person reads are the job's, as report.csv and job.json count them
    counts = json.loads(page.evaluate(COUNTS_JS))
    assert counts == {"succeeded": 3, "skipped": 1, "failed": 3}
    assert counts == dict(_report_counts(job_out))
    assert counts == json.loads((job_out / "job.json").read_text())["counts"]
    # And the hostile value is text on the page, not a script
    assert page.evaluate("document.scripts.length") == 0
    assert HOSTILE in page.evaluate("document.getElementById('failures').textContent")
    assert page.evaluate("document.title") == "Connect profiles: team changes.csv"
    # And every change is grouped under its user, as changes.csv has them
    assert page.evaluate("document.querySelectorAll('#changes tbody').length") == 2


def test_a_screenshot_of_the_page_is_a_picture_of_something(
    served: _Server, browser: Browser, tmp_path: Path
) -> None:
    # Given a blank tab's screenshot and the page's, at the same window size
    blank = read_png(browser.open("about:blank").screenshot())
    shot = _open(browser, served).screenshot()
    (tmp_path / "report.png").write_bytes(shot)
    # Then the page's is a valid PNG of the window, with text in it: far more colours than blank's one
    png = read_png(shot)
    assert (png.width, png.height) == (blank.width, blank.height)
    assert len(blank.colours()) == 1
    assert len(png.colours()) > 16
    assert len(shot) > 10_000


def test_without_chromium_the_browser_tests_fail_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser_module, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with (
        pytest.raises(BrowserError, match=r"`make install` installs Debian's chromium"),
        Browser(tmp_path / "p"),
    ):
        pass
