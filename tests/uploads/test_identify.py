"""playground.uploads.identify: real decoding of every accepted type, refusal of bad files; and
pictures.py's thumbnails of the same files (they share the table of accepted formats). No
database, no Django."""

import io
import time

import pytest
from PIL import Image, ImageFile

from playground.uploads.identify import MediaInfo, MediaRejected, inspect_file, sniff_mime
from playground.uploads.pictures import THUMBNAIL_MIME, make_thumbnail
from tests import media_samples as ms


@pytest.fixture
def put(tmp_path):
    """Write bytes under a (possibly misleading) name and return the path."""

    def write(data: bytes, name: str = "upload.bin"):
        return ms.write_sample(tmp_path, name, data)

    return write


# name, bytes, kind, mime, format, width, height, duration_s, page_count
ACCEPTED = [
    ("png", ms.png_bytes, "image", "image/png", "PNG", 64, 48, None, None),
    ("jpeg", ms.jpeg_bytes, "image", "image/jpeg", "JPEG", 64, 48, None, None),
    ("gif", ms.gif_bytes, "image", "image/gif", "GIF", 32, 24, None, None),
    ("webp", ms.webp_bytes, "image", "image/webp", "WEBP", 64, 48, None, None),
    ("tiff", ms.tiff_bytes, "image", "image/tiff", "TIFF", 64, 48, None, None),
    ("bmp", ms.bmp_bytes, "image", "image/bmp", "BMP", 64, 48, None, None),
    pytest.param(
        "heic", ms.heic_bytes, "image", "image/heic", "HEIC", 64, 48, None, None,
        marks=pytest.mark.skipif(not ms.heic_supported(), reason="no HEIC encoder to make a sample"),
    ),
    ("wav", ms.wav_bytes, "audio", "audio/wav", "wav", None, None, 1.0, None),
    ("mp3", ms.mp3_bytes, "audio", "audio/mpeg", "mp3", None, None, 1.0, None),
    ("flac", ms.flac_bytes, "audio", "audio/flac", "flac", None, None, 1.0, None),
    ("ogg_opus", ms.ogg_opus_bytes, "audio", "audio/ogg", "ogg", None, None, 1.0, None),
    ("ogg_vorbis", ms.ogg_vorbis_bytes, "audio", "audio/ogg", "ogg", None, None, 1.0, None),
    ("m4a", ms.m4a_bytes, "audio", "audio/mp4", "m4a", None, None, 1.0, None),
    ("webm_audio", ms.webm_audio_bytes, "audio", "audio/webm", "webm", None, None, 1.0, None),
    ("mp4", ms.mp4_bytes, "video", "video/mp4", "mp4", 64, 48, 1.0, None),
    ("webm_vp8", ms.webm_bytes, "video", "video/webm", "webm", 64, 48, 1.0, None),
    ("webm_vp9", lambda: ms.webm_bytes(codec="vp9"), "video", "video/webm", "webm", 64, 48, 1.0, None),
    ("mov", ms.mov_bytes, "video", "video/quicktime", "mov", 64, 48, 1.0, None),
    ("pdf", ms.pdf_bytes, "pdf", "application/pdf", "pdf", None, None, None, 3),
]


@pytest.mark.parametrize("name,make,kind,mime,fmt,width,height,duration,pages", ACCEPTED)
def test_accepted_formats_are_recognised(put, name, make, kind, mime, fmt, width, height, duration, pages):
    info = inspect_file(put(make()))
    assert isinstance(info, MediaInfo)
    assert (info.kind, info.mime_type, info.format) == (kind, mime, fmt)
    assert (info.width, info.height) == (width, height)
    assert info.page_count == pages
    if duration is None:
        assert info.duration_s is None
    else:
        assert info.duration_s == pytest.approx(duration, abs=0.05)
    if kind == "image":
        assert info.frame_count >= 1
        assert info.details["mode"]


@pytest.mark.parametrize("name,make,kind,mime,fmt,width,height,duration,pages", ACCEPTED)
def test_thumbnail_of_every_accepted_format(put, name, make, kind, mime, fmt, width, height, duration, pages):
    path = put(make())
    info = inspect_file(path)
    data = make_thumbnail(path, info, max_edge=40)
    thumb = Image.open(io.BytesIO(data))
    assert THUMBNAIL_MIME == "image/webp" and thumb.format == "WEBP"
    assert max(thumb.size) <= 40
    if width and height:  # pictures keep their shape
        assert thumb.size == (40, 30) if width == 64 else thumb.size == (32, 24)
    lo_hi = thumb.convert("RGBA").getextrema()
    assert any(lo != hi for lo, hi in lo_hi), "thumbnail is a flat colour"


def test_audio_and_video_details(put):
    wav = inspect_file(put(ms.wav_bytes(1.0, 16000, 2)))
    assert wav.details["codec"] == "pcm_s16le"
    assert (wav.details["sample_rate"], wav.details["channels"]) == (16000, 2)

    mp3 = inspect_file(put(ms.mp3_bytes()))
    assert mp3.details["codec"] == "mp3"  # the codec, not FFmpeg's decoder name (mp3float)
    assert mp3.details["sample_rate"] == 22050

    opus = inspect_file(put(ms.ogg_opus_bytes()))
    vorbis = inspect_file(put(ms.ogg_vorbis_bytes()))
    assert (opus.details["codec"], vorbis.details["codec"]) == ("opus", "vorbis")

    video = inspect_file(put(ms.mp4_bytes(audio=True)))
    assert video.kind == "video"
    assert video.details["video_codec"] == "h264"
    assert video.details["fps"] == pytest.approx(10.0)
    assert video.details["has_audio"] is True
    assert video.details["audio_codec"] == "aac"
    assert video.frame_count == 10

    vp9 = inspect_file(put(ms.webm_bytes(codec="vp9", audio=True)))
    assert (vp9.details["video_codec"], vp9.details["audio_codec"]) == ("vp9", "opus")

    silent = inspect_file(put(ms.mov_bytes()))
    assert silent.details["has_audio"] is False


def test_animated_images_report_frames(put):
    gif = inspect_file(put(ms.gif_bytes(frames=5)))
    assert gif.frame_count == 5 and gif.details["animated"] is True
    webp = inspect_file(put(ms.webp_bytes(frames=3)))
    assert webp.frame_count == 3 and webp.details["animated"] is True
    still = inspect_file(put(ms.png_bytes()))
    assert still.frame_count == 1 and still.details["animated"] is False


def test_details_are_json_safe(put):
    import json

    for make in (ms.png_bytes, ms.mp4_bytes, ms.wav_bytes, ms.pdf_bytes, lambda: ms.mp4_bytes(audio=True)):
        info = inspect_file(put(make()))
        assert json.loads(json.dumps(info.details)) == info.details


def test_alpha_is_reported(put):
    assert inspect_file(put(ms.png_bytes(mode="RGBA"))).details["has_alpha"] is True
    assert inspect_file(put(ms.transparent_gif_bytes())).details["has_alpha"] is True
    assert inspect_file(put(ms.jpeg_bytes())).details["has_alpha"] is False


# --- the name of a file means nothing -------------------------------------------------------


@pytest.mark.parametrize(
    "make,name,mime",
    [
        (ms.png_bytes, "photo.jpg", "image/png"),
        (ms.jpeg_bytes, "scan.pdf", "image/jpeg"),
        (ms.wav_bytes, "clip.mp4", "audio/wav"),
        (ms.mp4_bytes, "song.mp3", "video/mp4"),
        (ms.pdf_bytes, "paper.png", "application/pdf"),
        (ms.m4a_bytes, "voice.mov", "audio/mp4"),
    ],
)
def test_type_comes_from_bytes_not_name(put, make, name, mime):
    assert inspect_file(put(make(), name)).mime_type == mime


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make,name,message",
    [
        (ms.empty_bytes, "empty.png", "This file is empty."),
        (ms.text_bytes, "speech.wav", "This file is not a supported image, audio, video or PDF."),
        (ms.corrupt_png_bytes, "broken.png", "The PNG image is damaged or incomplete"),
        (ms.corrupt_jpeg_bytes, "half.jpg", "The JPEG image is damaged or incomplete"),
        (ms.bomb_png_bytes, "bomb.png", "The image is 20000×20000 (400 megapixels), over the 100 megapixel limit."),
        (ms.bomb_webp_bytes, "bomb.webp", "The image is 16000×16000 (256 megapixels), over the 100 megapixel limit."),
        (ms.truncated_mp4_bytes, "cut.mp4", "The MP4 file is incomplete"),
        (ms.corrupt_pdf_bytes, "broken.pdf", "The PDF is damaged"),
        (ms.locked_pdf_bytes, "locked.pdf", "This PDF is password-protected"),
        (ms.encrypted_pdf_bytes, "secret.pdf", "This PDF is encrypted"),
        (lambda: b"\x1a\x45\xdf\xa3" + b"\x42\x82\x88matroska" + bytes(64), "film.mkv", "Matroska (MKV) files are not supported"),
        (lambda: b"\x00\x00\x00\x1cftypavif" + bytes(64), "pic.avif", "not a supported image"),
        (lambda: b"BM" + bytes(60), "x.bmp", "not a supported image"),  # "BM" alone is not a BMP header
    ],
)
def test_bad_files_are_refused_with_a_clear_message(put, make, name, message):
    with pytest.raises(MediaRejected) as caught:
        inspect_file(put(make(), name))
    assert message in str(caught.value)
    assert str(caught.value).endswith(".")


def test_bomb_is_refused_from_the_header_without_decoding(put, monkeypatch):
    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    path = put(ms.bomb_png_bytes())
    start = time.perf_counter()
    with pytest.raises(MediaRejected, match="400 megapixels"):
        inspect_file(path)
    assert time.perf_counter() - start < 0.1
    # Pillow's process-wide limit was not touched to do it.
    assert Image.MAX_IMAGE_PIXELS == int(1024 * 1024 * 1024 // 4 // 3)


def test_pixel_limit_is_per_call(put):
    path = put(ms.png_bytes(64, 48))
    with pytest.raises(MediaRejected, match=r"64×48"):
        inspect_file(path, max_image_pixels=3000)
    assert inspect_file(path, max_image_pixels=3072).width == 64


def test_huge_animation_is_refused(put):
    path = put(ms.gif_bytes(32, 24, frames=4))  # 4 × 768 = 3072 pixels in all
    with pytest.raises(MediaRejected, match="The animation has 4 frames of 32×24"):
        inspect_file(path, max_animation_pixels=3000)
    assert inspect_file(path, max_animation_pixels=3072).frame_count == 4


def test_oversized_video_frames_are_refused(put):
    path = put(ms.mp4_bytes(width=64, height=48))
    with pytest.raises(MediaRejected, match="The video is 64×48, over the limit of 32 pixels per side."):
        inspect_file(path, max_video_edge=32)


@pytest.mark.parametrize(
    "make,label",
    [
        (lambda: ms.mp4_bytes(faststart=True)[:3000], "MP4"),  # index first, media data cut off
        (lambda: ms.mov_bytes()[: len(ms.mov_bytes()) // 2], "QuickTime"),
        (lambda: ms.webm_bytes()[: len(ms.webm_bytes()) // 2], "WebM"),
    ],
)
def test_files_cut_short_are_refused(put, make, label):
    with pytest.raises(MediaRejected, match=f"The {label} file is incomplete"):
        inspect_file(put(make()))


@pytest.mark.parametrize(
    "make,label,promised,present",
    [
        (lambda: ms.wav_bytes(3.0)[: len(ms.wav_bytes(3.0)) // 3], "WAV", "3.0", "1.0"),  # FFmpeg said 1 s
        (lambda: ms.mp3_bytes(3.0)[: len(ms.mp3_bytes(3.0)) // 3], "MP3", "3.0", "1.0"),  # FFmpeg said 3 s
        (lambda: ms.mp3_bytes(3.0)[:600], "MP3", "3.0", "0.0"),
    ],
)
def test_audio_cut_short_is_refused(put, make, label, promised, present):
    with pytest.raises(MediaRejected) as caught:
        inspect_file(put(make()))
    assert str(caught.value) == (
        f"The {label} file is incomplete: its header promises {promised} s of audio but it stops after "
        f"{present} s, perhaps because it was cut short while copying or uploading."
    )


def test_whole_audio_keeps_its_length(put):
    assert inspect_file(put(ms.wav_bytes(3.0))).duration_s == pytest.approx(3.0, abs=0.01)
    assert inspect_file(put(ms.mp3_bytes(3.0))).duration_s == pytest.approx(3.0, abs=0.06)
    # A WAV written as a stream (no size in its header) is as long as its data.
    streamed = bytearray(ms.wav_bytes(1.0))
    streamed[40:44] = b"\xff\xff\xff\xff"
    assert inspect_file(put(bytes(streamed))).duration_s == pytest.approx(1.0, abs=0.01)


def test_browser_recorded_webm_without_duration_is_measured(put):
    """MediaRecorder writes WebM with no duration and no index; the length is found by reading."""
    info = inspect_file(put(ms.webm_bytes(seconds=2.0, live=True)))
    assert (info.kind, info.mime_type) == ("video", "video/webm")
    assert info.duration_s == pytest.approx(2.0, abs=0.1)


def test_container_kind_follows_streams(put):
    """MP4/MOV/WebM holding only audio are audio; cover art in an MP4 is not video."""
    assert inspect_file(put(ms.m4a_bytes())).kind == "audio"
    assert inspect_file(put(ms.webm_audio_bytes())).mime_type == "audio/webm"
    assert inspect_file(put(ms.mp4_bytes())).kind == "video"


# --- orientation -------------------------------------------------------------------------------


def test_exif_orientation_gives_displayed_size(put):
    info = inspect_file(put(ms.jpeg_bytes(64, 48, orientation=6)))
    assert (info.width, info.height) == (48, 64)
    assert info.details["exif_orientation"] == 6


def test_thumbnail_applies_exif_orientation(put):
    path = put(ms.jpeg_bytes(64, 48, orientation=6))  # stored landscape, shown rotated 90° clockwise
    thumb = Image.open(io.BytesIO(make_thumbnail(path, inspect_file(path)))).convert("RGB")
    assert thumb.size == (48, 64)
    r, g, b = thumb.getpixel((thumb.width - 2, 1))  # the red corner mark moved to the top right
    assert r > 200 and g < 80 and b < 80


def test_rotated_video_is_upright(put):
    path = put(ms.mp4_bytes(width=64, height=48, rotation=90))
    info = inspect_file(path)
    assert (info.width, info.height) == (48, 64)
    assert info.details["rotation"] == 90
    thumb = Image.open(io.BytesIO(make_thumbnail(path, info)))
    assert thumb.size == (48, 64)


# --- thumbnails ------------------------------------------------------------------------------


def test_large_image_thumbnail_is_shrunk(put):
    path = put(ms.png_bytes(640, 480))
    thumb = Image.open(io.BytesIO(make_thumbnail(path, inspect_file(path))))
    assert thumb.size == (320, 240)
    thumb = Image.open(io.BytesIO(make_thumbnail(path, inspect_file(path), max_edge=100)))
    assert thumb.size == (100, 75)


def test_thumbnail_keeps_transparency(put):
    path = put(ms.png_bytes(mode="RGBA"))
    thumb = Image.open(io.BytesIO(make_thumbnail(path, inspect_file(path))))
    assert thumb.mode == "RGBA"
    assert thumb.getchannel("A").getextrema()[0] < 255


def test_waveform_thumbnail_draws_the_sound(put):
    # The sample's loudness swells three times: loud at 1/6, 1/2 and 5/6 of the way, quiet at 1/3.
    path = put(ms.wav_bytes(1.0, 16000))
    info = inspect_file(path)
    thumb = Image.open(io.BytesIO(make_thumbnail(path, info, max_edge=300))).convert("RGBA")
    assert thumb.width == 300 and thumb.height < thumb.width
    alpha = thumb.getchannel("A")
    assert alpha.getextrema() == (0, 255), "waveform is blank or has no background"

    def ink(x_fraction: float) -> int:
        x = int(thumb.width * x_fraction)
        return sum(1 for y in range(thumb.height) for dx in range(-3, 4) if alpha.getpixel((x + dx, y)) > 128)

    assert ink(1 / 6) > 1.5 * ink(1 / 3)
    assert ink(1 / 2) > 1.5 * ink(1 / 3)
    # Coloured bars (indigo to violet), not grey.
    r, g, b, a = max(thumb.get_flattened_data(), key=lambda p: p[3])
    assert b > g + 60


def test_waveform_of_silence_is_a_line_not_an_error(put):
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(16000))
    path = put(buf.getvalue())
    thumb = Image.open(io.BytesIO(make_thumbnail(path, inspect_file(path)))).convert("RGBA")
    assert thumb.getchannel("A").getextrema()[1] > 0


def test_pdf_thumbnail_is_the_first_page(put):
    path = put(ms.pdf_bytes(pages=3, width=200, height=260))
    thumb = Image.open(io.BytesIO(make_thumbnail(path, inspect_file(path)))).convert("RGB")
    assert thumb.height == 320 and abs(thumb.width - 246) <= 1
    r, g, b = thumb.getpixel((5, 5))  # the page's red corner mark
    assert r > 200 and g < 80 and b < 80


def test_video_poster_is_a_real_frame(put):
    path = put(ms.webm_bytes(seconds=2.0, width=160, height=120, codec="vp9"))
    thumb = Image.open(io.BytesIO(make_thumbnail(path, inspect_file(path), max_edge=80))).convert("RGB")
    assert thumb.size == (80, 60)
    assert len(set(thumb.get_flattened_data())) > 20  # a picture, not a blank frame


# --- speed -----------------------------------------------------------------------------------


def test_12_megapixel_jpeg_is_quick(put):
    path = put(ms.photo_jpeg_bytes(4000, 3000))
    start = time.perf_counter()
    info = inspect_file(path)
    thumb = make_thumbnail(path, info)
    elapsed = time.perf_counter() - start
    assert (info.width, info.height) == (4000, 3000)
    assert Image.open(io.BytesIO(thumb)).size == (320, 240)
    assert elapsed < 0.8, f"12 MP JPEG inspect + thumbnail took {elapsed:.2f} s"


def test_minute_of_audio_is_quick(put):
    path = put(ms.wav_bytes(60.0, 16000))
    start = time.perf_counter()
    info = inspect_file(path)
    make_thumbnail(path, info)
    elapsed = time.perf_counter() - start
    assert info.duration_s == pytest.approx(60.0, abs=0.01)
    assert elapsed < 1.0, f"60 s WAV inspect + waveform took {elapsed:.2f} s"


# --- sniffing --------------------------------------------------------------------------------


def test_sniff_mime_hints_from_first_bytes():
    assert sniff_mime(ms.png_bytes()[:64]) == "image/png"
    assert sniff_mime(ms.mp3_bytes()[:1024]) == "audio/mpeg"
    assert sniff_mime(ms.mov_bytes()[:64]) == "video/quicktime"
    assert sniff_mime(ms.pdf_bytes()[:64]) == "application/pdf"
    assert sniff_mime(ms.text_bytes()[:64]) is None
    assert sniff_mime(b"") is None


# --- what the modules offer ----------------------------------------------------------------------


def test_every_name_imported_from_identify_or_pictures_is_in_its___all__():
    """__all__ is the list of what other modules may use; an import of anything else is a private reach-in."""
    import ast
    from pathlib import Path

    from playground.uploads import identify, pictures

    root = Path(__file__).resolve().parents[2]
    offered = {"identify": set(identify.__all__), "pictures": set(pictures.__all__)}
    assert all(hasattr(identify, n) for n in identify.__all__) and all(hasattr(pictures, n) for n in pictures.__all__)
    reaching_in = []
    for path in [*(root / "playground").rglob("*.py"), *(root / "tests").rglob("*.py"), *(root / "bench").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module.rsplit(".", 1)[-1]
                if module in offered and (node.level or node.module.startswith("playground.uploads.")):
                    reaching_in += [f"{path.relative_to(root)}: {a.name}" for a in node.names if a.name not in offered[module]]
    assert reaching_in == []
