"""A headless Chromium driven over the DevTools protocol, with the standard library only.

`--remote-debugging-pipe` makes the browser read protocol commands from fd 3 and write responses
and events to fd 4, each message JSON ending in a NUL byte. A /bin/sh wrapper maps the child's fd 3
and 4 onto its stdin and stdout pipes, so no websocket library and no preexec_fn are needed.
Every wait is bounded by a count of messages and by a generous deadline that only guards a hung
browser; nothing here measures speed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = f"{CHROMIUM} is missing: `make install` installs Debian's chromium (the browser tests need it)"
# Only guards a hang (a browser that never answers); a healthy one answers in well under a second.
HANG_SECONDS = 120.0
MESSAGES_LIMIT = 10_000  # events read while waiting for one answer: a page this small sends dozens
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in a container has no user namespace for the sandbox
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a container's /dev/shm is small
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",  # no update checks or other traffic of its own
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)
# The child's fd 3 reads what we write to its stdin; its fd 4 writes what we read from its stdout.
_PIPE_WRAPPER = 'exec "$@" 3<&0 4>&1 0</dev/null 1>&2'


class BrowserError(Exception):
    pass


def chromium_path() -> str:
    """Debian's chromium, or a failure saying how to install it: the test must not pass silently."""
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which("chromium")):
        raise BrowserError(INSTALL_HINT)
    return CHROMIUM if os.access(CHROMIUM, os.X_OK) else str(shutil.which("chromium"))


@dataclass
class Page:
    """One tab: its session, and every event the browser sent for it so far."""

    browser: Browser
    session: str

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.browser.events.setdefault(self.session, [])

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session)

    def wait_for(self, method: str, predicate: Callable[[dict[str, Any]], bool] = lambda _: True) -> None:
        """Read until an event `method` whose params satisfy `predicate` (or one already came)."""
        for _ in range(MESSAGES_LIMIT):
            if any(e["method"] == method and predicate(e.get("params", {})) for e in self.events):
                return
            self.browser.read()
        raise BrowserError(f"no {method} in {MESSAGES_LIMIT} messages")

    def events_named(self, method: str) -> list[dict[str, Any]]:
        return [e.get("params", {}) for e in self.events if e["method"] == method]

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable)."""
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression!r} threw: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def screenshot(self) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, and failed loads, as text."""
        found = [f"exception: {e['exceptionDetails']}" for e in self.events_named("Runtime.exceptionThrown")]
        found += [
            f"console.{e['type']}: {e.get('args')}"
            for e in self.events_named("Runtime.consoleAPICalled")
            if e["type"] in {"error", "assert", "warning"}
        ]
        found += [
            f"log {e['entry']['level']}: {e['entry'].get('text')}"
            for e in self.events_named("Log.entryAdded")
            if e["entry"]["level"] in {"error", "warning"}
        ]
        found += [f"load failed: {e}" for e in self.events_named("Network.loadingFailed")]
        return found

    def requests(self) -> list[str]:
        return [e["request"]["url"] for e in self.events_named("Network.requestWillBeSent")]


class Browser:
    """`with Browser(profile) as browser: page = browser.open(url)`; the browser is always killed."""

    def __init__(self, profile: Path, *, width: int = 1280, height: int = 900) -> None:
        self._profile = profile
        self._size = (width, height)
        self._next_id = 0
        self._buffer = b""
        self._answers: dict[int, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}  # by session ("" for the browser's own)
        self._process: subprocess.Popen[bytes] | None = None
        self._log = profile.parent / f"{profile.name}-chromium.log"

    def __enter__(self) -> Browser:
        binary = chromium_path()
        self._profile.mkdir(parents=True, exist_ok=True)
        width, height = self._size
        command = [*FLAGS, f"--user-data-dir={self._profile}", f"--window-size={width},{height}"]
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                ["/bin/sh", "-c", _PIPE_WRAPPER, "sh", binary, *command, "about:blank"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # its own process group, so the renderers go with it
            )
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the group this Popen made: the browser and its helpers
        process.wait(timeout=HANG_SECONDS)
        for stream in (process.stdin, process.stdout):
            if stream:
                stream.close()

    @property
    def log(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def open(self, url: str) -> Page:
        """A new tab with Runtime, Log, Network and Page events on, navigated to `url` and loaded,
        the network idle (Chrome's own signal that nothing more is being fetched)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Runtime", "Log", "Network", "Page"):
            page.send(f"{domain}.enable")
        page.send("Page.setLifecycleEventsEnabled", {"enabled": True})
        frame = page.send("Page.navigate", {"url": url})
        if frame.get("errorText"):
            raise BrowserError(f"navigating to {url}: {frame['errorText']}")
        loader = frame.get("loaderId")
        page.wait_for("Page.loadEventFired")
        page.wait_for("Page.lifecycleEvent", lambda p: p["name"] == "networkIdle" and p["loaderId"] == loader)
        return page

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str = "") -> dict[str, Any]:
        """Send one command and read until its answer; events read meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        stdin, _ = self._pipes()
        stdin.write(json.dumps(message).encode() + b"\0")
        stdin.flush()
        for _ in range(MESSAGES_LIMIT):
            reply = self._answers.pop(self._next_id, None)
            if reply is not None:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.read()
        raise BrowserError(f"no answer to {method} in {MESSAGES_LIMIT} messages")

    def read(self) -> None:
        """Read one message: an answer is kept by its id, an event in its session's list."""
        message = self._read_one()
        if "id" in message:
            self._answers[message["id"]] = message
        else:
            self.events.setdefault(message.get("sessionId", ""), []).append(message)

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise BrowserError("the browser is not running: use `with Browser(...)`")
        return process.stdin, process.stdout

    def _read_one(self) -> dict[str, Any]:
        fd = self._pipes()[1].fileno()
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], HANG_SECONDS)
            if not ready:
                raise BrowserError(f"the browser sent nothing for {HANG_SECONDS} s\n{self.log[-3000:]}")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise BrowserError(f"the browser closed the pipe\n{self.log[-3000:]}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))


# --- PNG, read back without a library ------------------------------------------------------------


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    pixels: bytes  # RGBA or RGB rows, unfiltered
    channels: int

    def colours(self) -> set[bytes]:
        step = self.channels
        return {self.pixels[i : i + step] for i in range(0, len(self.pixels), step)}


_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}  # colour type: truecolour, truecolour with alpha (what Chrome writes)


def read_png(data: bytes) -> Png:
    """Decode an 8-bit truecolour PNG (RFC 2083): chunks, zlib, and the five row filters."""
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG: bad signature")
    offset, idat, header = len(_SIGNATURE), b"", None
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"bad CRC in {kind!r}")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        offset += 12 + length
    if header is None:
        raise ValueError("no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
    channels = _CHANNELS[colour]
    return Png(width, height, _unfilter(zlib.decompress(idat), width * channels, height, channels), channels)


def _unfilter(raw: bytes, stride: int, height: int, bpp: int) -> bytes:
    out = bytearray()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up = previous[x]
            corner = previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[x] = (line[x] + _paeth(left, up, corner)) & 0xFF
        out += line
        previous = line
    return bytes(out)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c
