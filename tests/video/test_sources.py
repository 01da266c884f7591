"""Opening SOURCE: every bad source is one line, and frames come out in order."""

import pytest

from edgeseg.errors import EdgesegError
from edgeseg.video.sources import open_source
from videos import make_video


def refusal(spec, **kw) -> str:
    with pytest.raises(EdgesegError) as info:
        open_source(str(spec), **kw)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_bad_sources_are_one_line(tmp_path):
    assert "no such file" in refusal(tmp_path / "missing.mp4")
    (tmp_path / "notes.mp4").write_text("not a video")
    assert "not a video" in refusal(tmp_path / "notes.mp4")
    (tmp_path / "empty").mkdir()
    assert "zero frames" in refusal(tmp_path / "empty")
    assert "matches no images" in refusal(tmp_path / "*.png")
    assert "does not exist" in refusal("/dev/video97")
    assert "unreachable" in refusal("rtsp://127.0.0.1:9/stream", timeout_s=1.0)


def test_a_video_file_opens_with_its_rate_size_and_frames(tmp_path):
    frames = make_video(tmp_path / "clip.avi", count=6)
    source = open_source(str(tmp_path / "clip.avi"))
    got = list(source.frames())
    source.close()
    assert (source.kind, source.live, source.count, source.fps, source.size) == ("video", False, 6, 15.0, (180, 240))
    assert [f.index for f in got] == list(range(6))
    assert all((f.image == ref).all() for f, ref in zip(got, frames))


def test_a_corrupt_image_in_a_folder_is_a_none_frame(tmp_path):
    import shutil

    from videos import camvid_frames

    for p in camvid_frames(3):
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "0016E5_00000_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    source = open_source(str(tmp_path))
    frames = list(source.frames())
    assert source.count == 4 and [f.image is None for f in frames] == [True, False, False, False]


def test_a_udp_stream_is_read_not_refused(tmp_path):
    """UDP has no connection to probe (issue 28 E: a TCP connect refused every udp:// source): a real
    MPEG-TS stream sent to a local UDP port opens as a live source and gives its frames."""
    av = pytest.importorskip("av", reason="PyAV (the video extra) sends the stream")
    import socket
    import threading
    import time

    import cv2

    from videos import camvid_frames

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    images, stop = [cv2.imread(str(p)) for p in camvid_frames(6)], threading.Event()

    def send():
        out = av.open(f"udp://127.0.0.1:{port}?pkt_size=1316", "w", format="mpegts")
        stream = out.add_stream("mpeg4", rate=15)
        stream.width, stream.height, stream.pix_fmt = 240, 180, "yuv420p"
        stream.codec_context.gop_size = 5
        for i in range(300):
            if stop.is_set():
                break
            for packet in stream.encode(av.VideoFrame.from_ndarray(images[i % 6], format="bgr24")):
                out.mux(packet)
            time.sleep(1 / 15)
        out.close()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        source = open_source(f"udp://127.0.0.1:{port}", timeout_s=10)
        got = [f for f, _ in zip(source.frames(), range(8))]
        source.close()
    finally:
        stop.set()
        sender.join(10)
    assert source.live and source.size == (180, 240) and len(got) == 8 and got[-1].image.shape == (180, 240, 3)
