"""The downloader and `resolve_weights` against a real HTTP server on 127.0.0.1.

Every case checks what a user would see: the file in the cache (or nothing there at all) and the
one sentence of the error.
"""
from __future__ import annotations

import dataclasses
import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest
from tqdm import tqdm

from common.download import cache_dir, download, weights_dir
from common.errors import DownloadError
from pose.checkpoints import main
from pose.errors import PoseError
from pose.weights import resolve_weights
from pose.weights_registry import REGISTRY

PAYLOAD = bytes(range(256)) * 4099  # ~1 MB, more than one read chunk
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `server.routes`: path -> (status, body, declared Content-Length).

    `/stall.pth` sends its headers and part of its body, then goes quiet until the test ends.
    """

    def do_GET(self) -> None:
        status, body, declared = self.server.routes.get(self.path, (404, b"not here", None))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if declared is None else declared))
        self.end_headers()
        self.wfile.write(body)
        if self.path == "/stall.pth":
            self.wfile.flush()
            self.server.finished.wait(timeout=10)
        self.close_connection = True  # a short body then ends in a closed connection

    def log_message(self, *args) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def server():
    """A threaded HTTP server on an ephemeral port of 127.0.0.1, shut down after the test."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.routes = {
        "/good.pth": (200, PAYLOAD, None),
        "/short.pth": (200, PAYLOAD[:1000], len(PAYLOAD)),
        "/stall.pth": (200, PAYLOAD[:1000], len(PAYLOAD)),
    }
    httpd.finished = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.finished.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty $HRTRACK_HOME for the test."""
    monkeypatch.setenv("HRTRACK_HOME", str(tmp_path / "hrtrack"))
    return tmp_path / "hrtrack"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_cache_dir_follows_hrtrack_home(home):
    assert cache_dir() == home
    assert weights_dir() == home / "checkpoints"


def test_cache_dir_default_is_under_the_user_cache(monkeypatch):
    monkeypatch.delenv("HRTRACK_HOME", raising=False)
    assert cache_dir() == Path.home() / ".cache" / "hrtrack"


@pytest.mark.parametrize("digest", [PAYLOAD_SHA256, PAYLOAD_SHA256[:8], None],
                         ids=["full", "prefix", "unchecked"])
def test_good_transfer_lands_whole_in_the_cache(server, home, digest):
    _, base = server
    target = weights_dir() / "good.pth"
    assert download(f"{base}/good.pth", target, sha256=digest, timeout=5) == target
    assert target.read_bytes() == PAYLOAD
    assert _files(target.parent) == ["good.pth"]  # no temporary file left beside it


def test_wrong_hash_leaves_nothing_and_names_both_hashes(server, home):
    _, base = server
    wrong = "0" * 64
    with pytest.raises(DownloadError) as caught:
        download(f"{base}/good.pth", weights_dir() / "good.pth", sha256=wrong, timeout=5)
    message = str(caught.value)
    assert wrong in message and PAYLOAD_SHA256 in message
    assert f"{base}/good.pth" in message and "nothing was saved" in message
    assert _files(weights_dir()) == []


def test_wrong_hash_prefix_is_reported_as_a_prefix(server, home):
    _, base = server
    with pytest.raises(DownloadError, match="sha256 starting with deadbeef was expected"):
        download(f"{base}/good.pth", weights_dir() / "good.pth", sha256="deadbeef", timeout=5)
    assert _files(weights_dir()) == []


def test_truncated_transfer_leaves_nothing(server, home):
    _, base = server
    with pytest.raises(DownloadError) as caught:
        download(f"{base}/short.pth", weights_dir() / "short.pth", timeout=5)
    assert f"stopped after 1000 of {len(PAYLOAD)} bytes" in str(caught.value)
    assert _files(weights_dir()) == []


def test_stalled_transfer_times_out_and_leaves_nothing(server, home):
    _, base = server
    with pytest.raises(DownloadError, match="the transfer broke off after 1000 bytes"):
        download(f"{base}/stall.pth", weights_dir() / "stall.pth", timeout=0.3)
    assert _files(weights_dir()) == []


def test_interrupted_transfer_leaves_nothing(server, home, monkeypatch):
    class InterruptedBar(tqdm):
        def update(self, n=1):
            raise KeyboardInterrupt  # the user presses Ctrl-C after the first chunk

    monkeypatch.setattr("common.download.tqdm", InterruptedBar)
    _, base = server
    with pytest.raises(KeyboardInterrupt):
        download(f"{base}/good.pth", weights_dir() / "good.pth", timeout=5)
    assert _files(weights_dir()) == []


def test_404_names_url_and_status(server, home):
    _, base = server
    with pytest.raises(DownloadError) as caught:
        download(f"{base}/missing.pth", weights_dir() / "missing.pth", timeout=5)
    message = str(caught.value)
    assert f"{base}/missing.pth" in message and "HTTP 404" in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence
    assert _files(weights_dir()) == []


def test_an_existing_file_is_kept_when_a_new_download_fails(server, home):
    _, base = server
    target = weights_dir() / "good.pth"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"old")
    with pytest.raises(DownloadError):
        download(f"{base}/good.pth", target, sha256="0" * 64, timeout=5)
    assert target.read_bytes() == b"old"


def test_a_malformed_hash_is_refused_before_any_transfer(home):
    with pytest.raises(DownloadError, match="neither a 64-digit hex digest"):
        download("http://127.0.0.1:9/x.pth", weights_dir() / "x.pth", sha256="xyz")


def _entry_at(monkeypatch, url: str | None) -> str:
    """Point the registry's W32 COCO entry at `url` for this test; returns its name."""
    name = "hrnet_w32_256x192.coco"
    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(REGISTRY[name], url=url))
    return name


def test_resolve_downloads_a_registry_name_into_the_cache(server, home, monkeypatch):
    _, base = server
    name = _entry_at(monkeypatch, f"{base}/good.pth")
    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(REGISTRY[name],
                                                            hash_prefix=PAYLOAD_SHA256[:8]))
    path = resolve_weights(name)
    assert path == weights_dir() / REGISTRY[name].file_name
    assert path.read_bytes() == PAYLOAD


def test_resolve_offline_gives_one_sentence_with_the_remedy(home, monkeypatch):
    name = _entry_at(monkeypatch, f"http://127.0.0.1:{_closed_port()}/w.pth")
    with pytest.raises(PoseError) as caught:
        resolve_weights(name)
    message = str(caught.value)
    assert REGISTRY[name].file_name in message
    assert str(weights_dir()) in message
    assert "--pose-weights PATH" in message and "could not be reached" in message
    assert message.count(". ") == 0 and message.endswith(".")
    assert _files(weights_dir()) == []


def test_resolve_uses_a_cached_file_without_the_network(home, monkeypatch):
    name = _entry_at(monkeypatch, f"http://127.0.0.1:{_closed_port()}/w.pth")
    cached = weights_dir() / REGISTRY[name].file_name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    assert resolve_weights(name) == cached


def test_resolve_returns_an_existing_path_as_is(tmp_path, home):
    weights = tmp_path / "my weights.pth"
    weights.write_bytes(b"x")
    assert resolve_weights(weights) == weights
    assert resolve_weights(str(weights)) == weights


def test_resolve_unknown_name_lists_the_known_names(home):
    with pytest.raises(PoseError) as caught:
        resolve_weights("hrnet_w99.nothing")
    message = str(caught.value)
    assert "'hrnet_w99.nothing' is neither an existing file nor a known weights name" in message
    assert all(name in message for name in REGISTRY)


def test_resolve_official_release_says_where_to_get_it(home):
    with pytest.raises(PoseError) as caught:
        resolve_weights("hrnet_w48_384x288.coco_official")
    message = str(caught.value)
    assert "pose_hrnet_w48_384x288.pth" in message and "drive.google.com" in message
    assert str(weights_dir()) in message and "--pose-weights PATH" in message


def test_resolve_without_download_names_the_url(home):
    entry = REGISTRY["hrnet_w48_384x288.posetrack18"]
    with pytest.raises(PoseError) as caught:
        resolve_weights(entry.name, download=False)
    message = str(caught.value)
    assert entry.url in message and "downloading is off" in message
    assert _files(weights_dir()) == []


def test_cli_lists_the_registry_and_fetches_from_the_cache(home, capsys, monkeypatch):
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in REGISTRY)
    name = _entry_at(monkeypatch, f"http://127.0.0.1:{_closed_port()}/w.pth")
    cached = weights_dir() / REGISTRY[name].file_name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    assert main(["fetch", name]) == 0
    assert capsys.readouterr().out.strip() == str(cached)


def test_cli_error_is_one_line_without_traceback(home, capsys):
    assert main(["fetch", "hrnet_w99.nothing"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.count("\n") == 1 and "known weights name" in captured.err


def test_training_names_its_own_flag_when_offline(home, monkeypatch):
    name = _entry_at(monkeypatch, f"http://127.0.0.1:{_closed_port()}/w.pth")
    with pytest.raises(PoseError, match=r"pass --pretrained PATH\.$"):
        resolve_weights(name, option="--pretrained PATH")
