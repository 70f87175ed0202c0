"""playground.uploads.variants: spec keys, and outputs decoded again to check them. No Django."""

import io
import time

import av
import pytest
from PIL import Image

from playground.uploads.identify import inspect_file
from playground.uploads.variants import VariantError, VariantOutput, VariantSpec, make_variant
from tests import media_samples as ms


@pytest.fixture
def source(tmp_path):
    """Write sample bytes to disk and inspect them: returns (path, MediaInfo)."""

    def make(data: bytes, name: str = "source.bin"):
        path = ms.write_sample(tmp_path, name, data)
        return path, inspect_file(path)

    return make


def variant(src, spec: VariantSpec) -> list[VariantOutput]:
    path, info = src
    return make_variant(path, info, spec)


def decode_image(out: VariantOutput) -> Image.Image:
    im = Image.open(io.BytesIO(out.data))
    im.load()
    return im


def decode_audio(out: VariantOutput) -> tuple[str, int, int, float]:
    """(container format, sample rate, channels, seconds of decoded samples)."""
    with av.open(io.BytesIO(out.data)) as c:
        stream = c.streams.audio[0]
        samples = sum(frame.samples for frame in c.decode(stream))
        cc = stream.codec_context
        return c.format.name, cc.sample_rate, cc.layout.nb_channels, samples / cc.sample_rate


# --- specs -----------------------------------------------------------------------------------


def test_spec_key_is_canonical():
    spec = VariantSpec.image(max_edge=1568, format="jpeg")
    assert spec.key() == "image:format=jpeg;max_edge=1568;quality=85"
    assert VariantSpec.parse(spec.key()) == spec
    assert VariantSpec.parse("image:quality=85;max_edge=1568;format=JPG") == spec  # order, case, alias
    assert VariantSpec("image", (("quality", "85"), ("format", "jpeg"), ("max_edge", 1568))) == spec
    assert hash(VariantSpec.parse(spec.key())) == hash(spec)
    assert spec.params == (("format", "jpeg"), ("max_edge", 1568), ("quality", 85))


@pytest.mark.parametrize(
    "spec,key",
    [
        (VariantSpec.image(), "image:quality=85"),
        (VariantSpec.image(format="png", quality=50), "image:format=png"),  # PNG has no quality
        (VariantSpec.audio(), "audio:bitrate=128000;format=mp3"),
        (VariantSpec.audio(format="wav", sample_rate=16000, channels=1), "audio:channels=1;format=wav;sample_rate=16000"),
        (VariantSpec.keyframes(), "keyframes:count=8;format=jpeg;quality=85"),
        (VariantSpec.keyframes(count=4, max_edge=512, format="png"), "keyframes:count=4;format=png;max_edge=512"),
    ],
)
def test_spec_keys_round_trip(spec, key):
    assert spec.key() == key
    assert VariantSpec.parse(key) == spec
    assert VariantSpec.parse(key).key() == key
    assert len(key) <= 200  # fits MediaVariant.spec


@pytest.mark.parametrize(
    "build",
    [
        lambda: VariantSpec.image(max_edge=0),
        lambda: VariantSpec.image(format="bmp"),
        lambda: VariantSpec.image(quality=101),
        lambda: VariantSpec.audio(format="ogg"),
        lambda: VariantSpec.audio(channels=6),
        lambda: VariantSpec.keyframes(count=0),
        lambda: VariantSpec.parse("video:count=3"),
        lambda: VariantSpec.parse("image:max_edge=big"),
        lambda: VariantSpec.parse("image:colour=red"),
        lambda: VariantSpec.parse("image:max_edge=10;max_edge=20"),
        lambda: VariantSpec.parse("no colon"),
    ],
)
def test_invalid_specs_are_refused(build):
    with pytest.raises(VariantError):
        build()


# --- images ----------------------------------------------------------------------------------


def test_image_is_resized_to_max_edge(source):
    src = source(ms.png_bytes(640, 480))
    [out] = variant(src, VariantSpec.image(max_edge=100, format="jpeg"))
    im = decode_image(out)
    assert (im.format, im.size, out.mime_type) == ("JPEG", (100, 75), "image/jpeg")
    assert out.details["width"] == 100 and out.details["height"] == 75


def test_image_is_never_enlarged(source):
    [out] = variant(source(ms.png_bytes(64, 48)), VariantSpec.image(max_edge=1000))
    assert decode_image(out).size == (64, 48)


@pytest.mark.parametrize(
    "make,fmt,mime",
    [
        (ms.png_bytes, "PNG", "image/png"),
        (ms.jpeg_bytes, "JPEG", "image/jpeg"),
        (ms.webp_bytes, "WEBP", "image/webp"),
        (ms.gif_bytes, "GIF", "image/gif"),
        (ms.tiff_bytes, "PNG", "image/png"),
        (ms.bmp_bytes, "PNG", "image/png"),
        pytest.param(
            ms.heic_bytes, "PNG", "image/png", marks=pytest.mark.skipif(not ms.heic_supported(), reason="no HEIC encoder")
        ),
    ],
)
def test_default_format_keeps_web_formats_and_converts_others_to_png(source, make, fmt, mime):
    [out] = variant(source(make()), VariantSpec.image(max_edge=32))
    im = decode_image(out)
    assert (im.format, out.mime_type) == (fmt, mime)
    assert max(im.size) == 32


def test_jpeg_output_puts_transparency_on_white(source):
    [out] = variant(source(ms.transparent_gif_bytes()), VariantSpec.image(format="jpeg"))
    im = decode_image(out)
    assert im.mode == "RGB"
    assert min(im.getpixel((2, 12))) > 240  # the transparent left half became white
    [png] = variant(source(ms.png_bytes(mode="RGBA")), VariantSpec.image(format="png"))
    assert decode_image(png).mode == "RGBA"  # PNG keeps the alpha channel


def test_awkward_modes_convert(source):
    [out] = variant(source(ms.png16_bytes()), VariantSpec.image(format="jpeg"))
    im = decode_image(out).convert("L")
    assert im.getpixel((0, 0)) < 10 and im.getpixel((31, 0)) > 245  # the 16-bit ramp kept its range
    [out] = variant(source(ms.cmyk_jpeg_bytes()), VariantSpec.image(format="webp"))
    assert decode_image(out).mode == "RGB"


def test_animated_gif_uses_first_frame_and_says_so(source):
    [out] = variant(source(ms.gif_bytes(frames=12)), VariantSpec.image(format="png"))
    assert out.details["note"] == "first frame of 12"
    assert getattr(decode_image(out), "n_frames", 1) == 1


def test_exif_orientation_is_applied(source):
    [out] = variant(source(ms.jpeg_bytes(640, 480, orientation=6)), VariantSpec.image(max_edge=100, format="png"))
    im = decode_image(out).convert("RGB")
    assert im.size == (75, 100)
    r, g, b = im.getpixel((im.width - 3, 2))  # red top-left mark, turned 90° clockwise
    assert r > 200 and g < 80 and b < 80
    assert "exif" not in im.info  # outputs carry no EXIF (no orientation to apply twice, no GPS)


def test_12_megapixel_jpeg_resize_is_quick(source):
    src = source(ms.photo_jpeg_bytes(4000, 3000))
    start = time.perf_counter()
    [out] = variant(src, VariantSpec.image(max_edge=1568, format="jpeg"))
    elapsed = time.perf_counter() - start
    assert decode_image(out).size == (1568, 1176)
    assert elapsed < 0.8, f"resizing took {elapsed:.2f} s"


# --- audio -----------------------------------------------------------------------------------


def test_wav_to_mp3(source):
    [out] = variant(source(ms.wav_bytes(1.0, 16000)), VariantSpec.audio(format="mp3"))
    fmt, rate, channels, seconds = decode_audio(out)
    assert (out.mime_type, fmt, rate, channels) == ("audio/mpeg", "mp3", 16000, 1)
    assert seconds == pytest.approx(1.0, abs=0.05)
    assert out.details["duration_s"] == pytest.approx(1.0, abs=0.05)


def test_resample_and_downmix_to_wav(source):
    [out] = variant(source(ms.wav_bytes(1.5, 44100, 2)), VariantSpec.audio(format="wav", sample_rate=16000, channels=1))
    fmt, rate, channels, seconds = decode_audio(out)
    assert (out.mime_type, fmt, rate, channels) == ("audio/wav", "wav", 16000, 1)
    assert seconds == pytest.approx(1.5, abs=0.05)
    with av.open(io.BytesIO(out.data)) as c:
        assert c.streams.audio[0].codec_context.name == "pcm_s16le"


@pytest.mark.parametrize(
    "make,seconds",
    [
        (ms.mp3_bytes, 1.0),
        (ms.flac_bytes, 1.0),
        (ms.ogg_opus_bytes, 1.0),
        (ms.ogg_vorbis_bytes, 1.0),
        (ms.m4a_bytes, 1.0),
        (ms.webm_audio_bytes, 1.0),
        (lambda: ms.mp4_bytes(audio=True), 1.0),  # the audio track of a video
        (lambda: ms.webm_bytes(codec="vp9", audio=True), 1.0),
    ],
)
def test_any_accepted_audio_converts(source, make, seconds):
    [out] = variant(source(make()), VariantSpec.audio(format="mp3", sample_rate=22050))
    fmt, rate, channels, decoded = decode_audio(out)
    assert (fmt, rate) == ("mp3", 22050)
    assert decoded == pytest.approx(seconds, abs=0.05)


def test_mp3_keeps_a_rate_mp3_allows(source):
    [out] = variant(source(ms.wav_bytes(0.5, 96000, 2)), VariantSpec.audio(format="mp3"))
    assert decode_audio(out)[1:3] == (48000, 2)


def test_video_without_audio_has_no_audio_variant(source):
    with pytest.raises(VariantError, match="no audio"):
        variant(source(ms.mp4_bytes()), VariantSpec.audio())


def test_minute_of_wav_to_mp3_is_quick(source):
    src = source(ms.wav_bytes(60.0, 44100, 2))
    start = time.perf_counter()
    [out] = variant(src, VariantSpec.audio(format="mp3"))
    elapsed = time.perf_counter() - start
    assert decode_audio(out)[3] == pytest.approx(60.0, abs=0.05)
    assert elapsed < 2.0, f"60 s WAV to MP3 took {elapsed:.2f} s"


# --- key frames ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: ms.mp4_bytes(seconds=2.0),
        lambda: ms.webm_bytes(seconds=2.0),
        lambda: ms.webm_bytes(seconds=2.0, codec="vp9"),
        lambda: ms.mov_bytes(seconds=2.0),
        lambda: ms.webm_bytes(seconds=2.0, live=True),  # no duration or index in the file
    ],
)
def test_keyframes_are_evenly_spaced(source, make):
    outs = variant(source(make()), VariantSpec.keyframes(count=4))
    assert len(outs) == 4
    times = [o.details["time_s"] for o in outs]
    assert times == pytest.approx([0.25, 0.75, 1.25, 1.75], abs=0.06)
    pictures = [decode_image(o) for o in outs]
    assert all(p.format == "JPEG" and p.size == (64, 48) for p in pictures)
    assert len({p.tobytes() for p in pictures}) == 4  # four different moments, not one frame four times


def test_keyframes_resized_as_png(source):
    outs = variant(source(ms.mp4_bytes(width=160, height=120)), VariantSpec.keyframes(count=3, max_edge=40, format="png"))
    assert [decode_image(o).size for o in outs] == [(40, 30)] * 3
    assert all(o.mime_type == "image/png" for o in outs)


def test_keyframes_of_a_rotated_video_are_upright(source):
    outs = variant(source(ms.mp4_bytes(rotation=90)), VariantSpec.keyframes(count=2))
    assert [decode_image(o).size for o in outs] == [(48, 64)] * 2


def test_more_keyframes_than_frames_gives_each_frame_once(source):
    outs = variant(source(ms.mp4_bytes(seconds=0.5, fps=10)), VariantSpec.keyframes(count=20))
    times = [o.details["time_s"] for o in outs]
    assert len(times) == 5 and times == sorted(set(times))


# --- wrong kinds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make,spec",
    [
        (ms.wav_bytes, VariantSpec.image()),
        (ms.png_bytes, VariantSpec.audio()),
        (ms.png_bytes, VariantSpec.keyframes()),
        (ms.wav_bytes, VariantSpec.keyframes()),
        (ms.pdf_bytes, VariantSpec.image()),
    ],
)
def test_spec_must_fit_the_kind(source, make, spec):
    with pytest.raises(VariantError, match="variant needs"):
        variant(source(make()), spec)
