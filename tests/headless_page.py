"""A test helper: open a page in headless Chromium and evaluate a script in it, over the DevTools pipe.

`--dump-dom` returns at the load event, before a video has loaded; a script that awaits the video
(its duration, a seek) needs the DevTools protocol. Chromium's `--remote-debugging-pipe` reads
NUL-terminated JSON commands on file descriptor 3 and writes replies and events on 4, so no
network port and no client library are needed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# Debian's /usr/bin/chromium is a shell script that starts this binary; the script drops other file descriptors.
_DEBIAN_BINARY = Path("/usr/lib/chromium/chromium")


def _binary(browser: str) -> str:
    return str(_DEBIAN_BINARY) if Path(browser).resolve() == Path("/usr/bin/chromium") and _DEBIAN_BINARY.exists() \
        else browser


class _Pipe:
    """The two ends of the DevTools pipe: `call` sends a command and returns its reply, keeping the events seen."""

    def __init__(self, send: int, receive: int):
        self.send, self.receive = send, receive
        self.events: list[dict] = []
        self._buffer = b""
        self._id = 0

    def message(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self.receive, 1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        command = {"id": self._id, "method": method, "params": params or {},
                   **({"sessionId": session} if session else {})}
        os.write(self.send, json.dumps(command).encode() + b"\0")
        while True:
            reply = self.message()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)


def evaluate(browser: str, url: str, expression: str, profile: Path, timeout: float = 90.0) -> tuple[object, list[str]]:
    """Load `url`, then evaluate `expression` (awaited when it is a promise); returns its value and the page's
    uncaught exceptions and console errors."""
    commands_read, commands_write = os.pipe()
    replies_read, replies_write = os.pipe()

    arguments = [_binary(browser), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", f"--user-data-dir={profile}", "--remote-debugging-pipe",
                 "about:blank"]
    # a small Python puts the pipe ends where Chromium looks for them (3 and 4), then becomes Chromium
    relay = (f"import os, sys; a, b = os.dup({commands_read}), os.dup({replies_write}); os.dup2(a, 3); os.dup2(b, 4); "
             "os.set_inheritable(3, True); os.set_inheritable(4, True); os.execv(sys.argv[1], sys.argv[1:])")
    process = subprocess.Popen([sys.executable, "-c", relay, *arguments], pass_fds=(commands_read, replies_write),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(commands_read), os.close(replies_write)
    pipe = _Pipe(commands_write, replies_read)
    try:
        target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            pipe.call(f"{domain}.enable", session=session)
        pipe.call("Page.navigate", {"url": url}, session)
        while not any(event.get("method") == "Page.loadEventFired" for event in pipe.events):
            pipe.events.append(pipe.message())
        script = f"Promise.race([Promise.resolve({expression}), new Promise((_, no) => setTimeout(() => " \
                 f"no(new Error('timed out')), {int(timeout * 1000)}))])"
        result = pipe.call("Runtime.evaluate", {"expression": script, "awaitPromise": True, "returnByValue": True},
                           session)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"].get("exception", {}).get("description", "script failed"))
        return result["result"].get("value"), _errors(pipe.events)
    finally:
        process.kill()
        process.wait()
        os.close(commands_write), os.close(replies_read)


def _errors(events: list[dict]) -> list[str]:
    errors = []
    for event in events:
        if event.get("method") == "Runtime.exceptionThrown":
            errors.append(event["params"]["exceptionDetails"].get("text", "exception"))
        elif event.get("method") == "Log.entryAdded" and event["params"]["entry"]["level"] == "error":
            errors.append(event["params"]["entry"]["text"])
        elif event.get("method") == "Runtime.consoleAPICalled" and event["params"]["type"] == "error":
            errors.append(str(event["params"]["args"]))
    return errors


def chromium() -> str | None:
    """The Chromium on this machine, or None."""
    return next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)
