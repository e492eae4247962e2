"""The kinds of input `python -m tracker.run` takes besides a video file and a folder of frames: a glob, one
image, a folder of videos, an HTTP MJPEG stream (a webcam or IP camera stand-in served on 127.0.0.1) and a
webcam index; each is checked before any model loads."""
from __future__ import annotations

import http.server
import json
import socketserver
import threading
import time

import cv2
import numpy as np
import pytest
from test_run_errors import one_sentence, stub_models  # tests/test_run_errors.py

from tracker import runner as track_module
from tracker.io.video_writer import VideoWriter
from tracker.run import main


@pytest.fixture
def stubbed(monkeypatch):
    """Stub models for `main`; returns the list of times they were built (to show inputs are checked first)."""
    built = []

    def use(stop_at=None):
        def build(config, device):
            built.append(stop_at)
            return stub_models(stop_at)
        monkeypatch.setattr(track_module, "build_models", build)
    use()
    return use, built


def json_frames(path) -> list[str]:
    """The image file names a written PoseTrack JSON lists, in order."""
    return [image["file_name"] for image in json.loads(path.read_text())["images"]]


def write_images(folder, count: int, suffix: str = ".png") -> list:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{index:06d}{suffix}" for index in range(count)]
    for index, path in enumerate(paths):
        cv2.imwrite(str(path), np.full((48, 64, 3), 30 * index, np.uint8))
    return paths


def write_video(path, count: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with VideoWriter(path, 10.0, 64, 48) as writer:
        for index in range(count):
            writer.write(np.full((48, 64, 3), 20 * index, np.uint8))


def test_a_glob_tracks_the_matching_images_in_name_order(tmp_path, stubbed):
    write_images(tmp_path / "shots", 4)
    (tmp_path / "shots" / "000004.txt").write_text("not an image")  # left out
    out = tmp_path / "out"
    assert main([str(tmp_path / "shots" / "00000[1-3].png"), "-o", str(out), "--quiet"]) == 0
    assert json_frames(out / "shots.json") == [f"images/shots/00000{index}.png" for index in (1, 2, 3)]


def test_a_glob_matching_nothing_is_named_before_any_model_loads(tmp_path, capsys, stubbed):
    assert main([str(tmp_path / "*.jpg"), "-o", str(tmp_path / "out")]) == 1
    assert "matches no image file" in one_sentence(capsys)
    assert stubbed[1] == [] and not (tmp_path / "out").exists()


def test_a_single_image_is_a_one_frame_video(tmp_path, stubbed):
    image = write_images(tmp_path, 1, suffix=".jpg")[0]
    out = tmp_path / "out"
    assert main([str(image), "-o", str(out), "--quiet"]) == 0
    assert json_frames(out / "000000.json") == [f"images/{tmp_path.name}/000000.jpg"]
    assert (out / "000000.mp4").stat().st_size > 0 and (out / "000000.csv").is_file()


def test_a_folder_of_videos_tracks_each_video(tmp_path, capsys, stubbed):
    write_video(tmp_path / "games" / "first.mp4", 5)
    write_video(tmp_path / "games" / "second.mp4", 3)
    (tmp_path / "games" / "notes.txt").write_text("not a video")
    out = tmp_path / "out"
    assert main([str(tmp_path / "games"), "-o", str(out)]) == 0
    assert len(json_frames(out / "first.json")) == 5 and len(json_frames(out / "second.json")) == 3
    printed = capsys.readouterr().out
    assert "first.mp4: 5 frames" in printed and "second.mp4: 3 frames" in printed
    assert f"results saved in {out.resolve()}" in printed.splitlines()[-1]


def test_every_input_is_opened_before_a_model_loads(tmp_path, capsys, stubbed):
    write_video(tmp_path / "good.mp4", 3)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 64)
    assert main([str(tmp_path / "good.mp4"), str(broken), "-o", str(tmp_path / "out")]) == 1
    assert "broken.mp4 could not be opened as a video" in one_sentence(capsys)
    assert stubbed[1] == [] and not (tmp_path / "out").exists()


def test_an_absent_webcam_is_one_sentence(tmp_path, capsys, stubbed):
    assert main(["7", "-o", str(tmp_path / "out")]) == 1
    assert "the webcam 7 could not be opened" in one_sentence(capsys)


class MJPEGServer:
    """An HTTP MJPEG stream (multipart/x-mixed-replace) on 127.0.0.1, as IP cameras serve: `frames` JPEG
    frames then the end of the stream, or frames without end when `frames` is None."""

    def __init__(self, frames: int | None):
        images = [cv2.imencode(".jpg", np.full((48, 64, 3), 15 * (index % 16), np.uint8))[1].tobytes()
                  for index in range(16)]

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                index = 0
                try:
                    while frames is None or index < frames:
                        jpeg = images[index % len(images)]
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n"
                                         % (len(jpeg), jpeg))
                        index += 1
                        time.sleep(0.005)
                except (BrokenPipeError, ConnectionResetError):  # the tracker hung up
                    pass

            def log_message(self, *args):
                pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/camera.mjpg"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stream(request):
    server = MJPEGServer(request.param)
    yield server.url
    server.close()


@pytest.mark.parametrize("stream", [12], indirect=True)
def test_a_stream_is_tracked_until_it_ends(stream, tmp_path, capsys, stubbed):
    out = tmp_path / "out"
    assert main([stream, "-o", str(out)]) == 0
    assert len(json_frames(out / "camera.json")) == 12
    rows = (out / "camera.csv").read_text().splitlines()
    assert {row.split(",")[0] for row in rows[1:]} == {str(index) for index in range(12)}
    assert "camera: 12 frames" in capsys.readouterr().out


@pytest.mark.parametrize("stream", [None], indirect=True)
def test_ctrl_c_ends_an_endless_stream_with_complete_outputs(stream, tmp_path, capsys, stubbed):
    use, _ = stubbed
    use(stop_at=20)  # Ctrl-C as frame 20 begins
    out = tmp_path / "out"
    assert main([stream, "-o", str(out)]) == 130
    assert len(json_frames(out / "camera.json")) == 20
    err = capsys.readouterr().err
    assert "hold the 20 frames done" in err and "--resume" not in err  # a stream cannot be continued
    capture = cv2.VideoCapture(str(out / "camera.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
    assert not list(out.glob(".camera.resume.json"))
