"""Tiny media samples made in-process, for tests.

Every function returns ``bytes`` and is cached (bytes are immutable, so sharing is safe), so a
test suite pays for each distinct sample once. Samples are deliberately small (tens of pixels,
about a second) so tests stay fast. Write one to disk with :func:`write_sample`.

Good samples::

    png_bytes(64, 48)  jpeg_bytes(64, 48)  photo_jpeg_bytes(4000, 3000)  gif_bytes(frames=4)  webp_bytes()  tiff_bytes()
    bmp_bytes()  heic_bytes()  wav_bytes(seconds=1.0, rate=16000)  mp3_bytes()  flac_bytes()
    ogg_opus_bytes()  ogg_vorbis_bytes()  m4a_bytes()  webm_audio_bytes()  mp4_bytes()
    webm_bytes(codec="vp8"|"vp9")  mov_bytes()  pdf_bytes(pages=3)

Bad samples::

    empty_bytes()  corrupt_png_bytes()  bomb_png_bytes()  bomb_webp_bytes()  text_bytes()
    truncated_mp4_bytes()  corrupt_jpeg_bytes()  corrupt_pdf_bytes()  locked_pdf_bytes()
    encrypted_pdf_bytes()

Awkward but valid::

    png16_bytes()  cmyk_jpeg_bytes()  transparent_gif_bytes()  png_bytes(mode="RGBA")
    jpeg_bytes(orientation=6)  gif_bytes(frames=4)  webp_bytes(frames=3)  mp4_bytes(audio=True)
    mp4_bytes(faststart=True, rotation=90)  webm_bytes(codec="vp9", audio=True)
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import random
import struct
import tempfile
import wave
import zlib
from array import array
from functools import cache
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

__all__ = [
    "SAMPLES",
    "BAD_SAMPLES",
    "write_sample",
    "png_bytes",
    "jpeg_bytes",
    "photo_jpeg_bytes",
    "gif_bytes",
    "webp_bytes",
    "tiff_bytes",
    "bmp_bytes",
    "heic_bytes",
    "heic_supported",
    "wav_bytes",
    "mp3_bytes",
    "flac_bytes",
    "ogg_opus_bytes",
    "ogg_vorbis_bytes",
    "m4a_bytes",
    "webm_audio_bytes",
    "mp4_bytes",
    "webm_bytes",
    "mov_bytes",
    "pdf_bytes",
    "empty_bytes",
    "corrupt_png_bytes",
    "corrupt_jpeg_bytes",
    "bomb_png_bytes",
    "bomb_webp_bytes",
    "png16_bytes",
    "cmyk_jpeg_bytes",
    "transparent_gif_bytes",
    "text_bytes",
    "truncated_mp4_bytes",
    "corrupt_pdf_bytes",
    "locked_pdf_bytes",
    "encrypted_pdf_bytes",
]


def write_sample(directory, name: str, data: bytes) -> Path:
    """Write ``data`` to ``directory/name`` and return the path (e.g. with pytest's tmp_path)."""
    path = Path(directory) / name
    path.write_bytes(data)
    return path


# --- images -------------------------------------------------------------------------------


def _picture(width: int, height: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    """A colourful gradient with a few shapes: not blank, compresses a little, easy to eyeball."""
    im = Image.new("RGB", (width, height))
    px = []
    for y in range(height):
        for x in range(width):
            px.append(
                (
                    (x * 255 // max(width - 1, 1) + seed * 40) % 256,
                    (y * 255 // max(height - 1, 1)) % 256,
                    (128 + seed * 60) % 256,
                )
            )
    im.putdata(px)
    draw = ImageDraw.Draw(im)
    draw.ellipse((width // 4, height // 4, width * 3 // 4, height * 3 // 4), fill=(255, 255, 255))
    draw.rectangle((0, 0, max(width // 8, 1), max(height // 8, 1)), fill=(255, 0, 0))  # marks top-left
    if mode == "RGBA":
        im = im.convert("RGBA")
        alpha = Image.new("L", (width, height), 255)
        ImageDraw.Draw(alpha).rectangle((width // 2, 0, width, height), fill=96)
        im.putalpha(alpha)
    elif mode != "RGB":
        im = im.convert(mode)
    return im


def _save(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


@cache
def png_bytes(width: int = 64, height: int = 48, mode: str = "RGB") -> bytes:
    return _save(_picture(width, height, mode), "PNG")


@cache
def jpeg_bytes(width: int = 64, height: int = 48, quality: int = 85, orientation: int | None = None) -> bytes:
    """A JPEG; ``orientation`` (1-8) adds an EXIF Orientation tag (pixels are stored unrotated)."""
    params = {"quality": quality}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        params["exif"] = exif.tobytes()
    return _save(_picture(width, height), "JPEG", **params)


@cache
def photo_jpeg_bytes(width: int = 4000, height: int = 3000, quality: int = 90, orientation: int | None = None) -> bytes:
    """A large photo-like JPEG (noise over gradients, so it compresses like a photo), made with
    Pillow's C routines so even 12 megapixels take a fraction of a second."""
    size = (width, height)
    noise = Image.frombytes("L", size, random.Random(0).randbytes(width * height)).point(lambda v: v * 24 // 255)
    channels = [
        Image.linear_gradient("L").resize(size),
        Image.linear_gradient("L").rotate(90).resize(size),
        Image.radial_gradient("L").resize(size),
    ]
    im = Image.merge("RGB", [ImageChops.add(c, noise) for c in channels])  # 12 MP: about 3.5 MB
    ImageDraw.Draw(im).rectangle((0, 0, width // 8, height // 8), fill=(255, 0, 0))  # marks top-left
    params = {"quality": quality}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        params["exif"] = exif.tobytes()
    return _save(im, "JPEG", **params)


@cache
def gif_bytes(width: int = 32, height: int = 24, frames: int = 4) -> bytes:
    """An animated GIF (``frames`` > 1) that loops, 100 ms per frame."""
    ims = [_picture(width, height, seed=i).convert("P", palette=Image.Palette.ADAPTIVE) for i in range(frames)]
    if frames == 1:
        return _save(ims[0], "GIF")
    return _save(ims[0], "GIF", save_all=True, append_images=ims[1:], duration=100, loop=0)


@cache
def webp_bytes(width: int = 64, height: int = 48, frames: int = 1, mode: str = "RGB") -> bytes:
    """A WebP; ``frames`` > 1 makes an animated one."""
    ims = [_picture(width, height, mode, seed=i) for i in range(frames)]
    if frames == 1:
        return _save(ims[0], "WEBP", quality=80)
    return _save(ims[0], "WEBP", save_all=True, append_images=ims[1:], duration=100, loop=0, quality=80)


@cache
def tiff_bytes(width: int = 64, height: int = 48) -> bytes:
    return _save(_picture(width, height), "TIFF", compression="tiff_deflate")


@cache
def bmp_bytes(width: int = 64, height: int = 48) -> bytes:
    return _save(_picture(width, height), "BMP")


def heic_supported() -> bool:
    """Whether pillow-heif is installed and has an HEVC encoder (x265) to make HEIC samples."""
    try:
        import pillow_heif
    except ImportError:
        return False
    return bool(pillow_heif.libheif_info().get("HEIF"))


@cache
def heic_bytes(width: int = 64, height: int = 48) -> bytes:
    """An HEIC image (needs :func:`heic_supported`); HEVC wants even dimensions."""
    import pillow_heif

    heif = pillow_heif.from_pillow(_picture(width, height))
    buf = io.BytesIO()
    heif.save(buf, quality=80)
    return buf.getvalue()


# --- audio --------------------------------------------------------------------------------


def _tone_s16(seconds: float, rate: int, channels: int, freq: float = 440.0) -> array:
    """Interleaved signed 16-bit samples: a tone whose loudness swells three times a second (at
    most), so a waveform has a shape. Computed for one second at most, then repeated: a minute
    of audio costs no more to make than a second."""
    n = int(round(seconds * rate))
    period = min(n, rate)
    one = array("h", bytes(2 * period * channels))
    two_pi_f = 2 * math.pi * freq / rate
    for i in range(period):
        envelope = 0.2 + 0.6 * abs(math.sin(math.pi * i / max(period, 1) * 3))
        v = int(32767 * envelope * math.sin(two_pi_f * i))
        for c in range(channels):
            one[i * channels + c] = v
    out = one * (n // max(period, 1))
    out.extend(one[: (n - len(out) // channels) * channels])
    return out


@cache
def wav_bytes(seconds: float = 1.0, rate: int = 16000, channels: int = 1) -> bytes:
    """16-bit PCM WAV, written with the standard library."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(_tone_s16(seconds, rate, channels).tobytes())
    return buf.getvalue()


def _encode_audio(
    container_format: str,
    codec: str,
    *,
    seconds: float,
    rate: int,
    channels: int,
    bit_rate: int | None = None,
    options: dict | None = None,
) -> bytes:
    import av

    layout = "mono" if channels == 1 else "stereo"
    pcm = _tone_s16(seconds, rate, channels).tobytes()
    buf = io.BytesIO()
    with av.open(buf, "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.codec_context.layout = layout
        if bit_rate:
            stream.codec_context.bit_rate = bit_rate
        if options:
            stream.codec_context.options = options
        stream.codec_context.open()  # picks the sample format and frame size
        frame_size = stream.codec_context.frame_size or 1024
        fifo = av.AudioFifo()
        src = av.AudioFrame(format="s16", layout=layout, samples=len(pcm) // (2 * channels))
        src.planes[0].update(pcm)
        src.sample_rate = rate
        src.pts = 0
        resampler = av.AudioResampler(format=stream.codec_context.format, layout=layout, rate=rate)
        for f in resampler.resample(src):
            fifo.write(f)
        for f in resampler.resample(None):
            fifo.write(f)
        pts = 0
        while fifo.samples:
            chunk = fifo.read(min(frame_size, fifo.samples), partial=True)
            chunk.pts = pts
            pts += chunk.samples
            out.mux(stream.encode(chunk))
        out.mux(stream.encode(None))
    return buf.getvalue()


@cache
def mp3_bytes(seconds: float = 1.0, rate: int = 22050, channels: int = 1) -> bytes:
    return _encode_audio("mp3", "libmp3lame", seconds=seconds, rate=rate, channels=channels, bit_rate=64000)


@cache
def flac_bytes(seconds: float = 1.0, rate: int = 16000, channels: int = 1) -> bytes:
    return _encode_audio("flac", "flac", seconds=seconds, rate=rate, channels=channels)


@cache
def ogg_opus_bytes(seconds: float = 1.0, channels: int = 1) -> bytes:
    return _encode_audio("ogg", "libopus", seconds=seconds, rate=48000, channels=channels, bit_rate=32000)


@cache
def ogg_vorbis_bytes(seconds: float = 1.0, rate: int = 22050, channels: int = 2) -> bytes:
    """Ogg Vorbis with FFmpeg's own (experimental) encoder, which only does stereo well."""
    return _encode_audio(
        "ogg", "vorbis", seconds=seconds, rate=rate, channels=channels, options={"strict": "experimental"}
    )


@cache
def m4a_bytes(seconds: float = 1.0, rate: int = 22050, channels: int = 1) -> bytes:
    """AAC in an MP4 container with the 'M4A ' brand (what the ipod muxer writes)."""
    return _encode_audio("ipod", "aac", seconds=seconds, rate=rate, channels=channels, bit_rate=48000)


@cache
def webm_audio_bytes(seconds: float = 1.0, channels: int = 1) -> bytes:
    """Opus in WebM, no video."""
    return _encode_audio("webm", "libopus", seconds=seconds, rate=48000, channels=channels, bit_rate=32000)


# --- video --------------------------------------------------------------------------------


def _encode_video(
    container_format: str,
    codec: str,
    *,
    seconds: float,
    width: int,
    height: int,
    fps: int,
    audio: str | None = None,
    rotation: int = 0,
    options: dict | None = None,
    container_options: dict | None = None,
) -> bytes:
    """Frames of a moving picture (a bar sweeps across, colours change) plus an optional tone.

    Written to a temporary file rather than a BytesIO: the MP4 muxer's faststart pass re-reads
    its own output, which needs a real file.
    """
    import av

    tmp = tempfile.NamedTemporaryFile(suffix="." + container_format, delete=False)  # noqa: SIM115 - closed at once; av.open writes the path
    tmp.close()
    try:
        with av.open(tmp.name, "w", format=container_format, options=container_options or {}) as out:
            _write_video(
                av, out, codec, seconds=seconds, width=width, height=height, fps=fps, audio=audio,
                rotation=rotation, options=options,
            )  # fmt: skip
        return Path(tmp.name).read_bytes()
    finally:
        os.unlink(tmp.name)


def _write_video(av, out, codec, *, seconds, width, height, fps, audio, rotation, options) -> None:
    n_frames = max(1, int(round(seconds * fps)))
    base = _picture(width, height)
    vs = out.add_stream(codec, rate=fps)
    vs.width, vs.height = width, height
    vs.pix_fmt = "yuv420p"
    vs.codec_context.options = {"g": str(fps), **(options or {})}  # a key frame every second
    if rotation:
        vs.set_display_rotation(rotation)
    aus = None
    if audio:
        aus = out.add_stream(audio, rate=48000 if audio == "libopus" else 22050)
        aus.codec_context.layout = "mono"
        aus.codec_context.open()
    for i in range(n_frames):
        im = base.copy()
        draw = ImageDraw.Draw(im)
        x = (i * width) // n_frames
        draw.rectangle((x, 0, x + max(width // 10, 2), height), fill=((i * 37) % 256, 200, (i * 91) % 256))
        frame = av.VideoFrame.from_image(im)
        frame.pts = i
        out.mux(vs.encode(frame))
    out.mux(vs.encode(None))
    if aus is not None:
        cc = aus.codec_context
        rate = cc.sample_rate
        pcm = _tone_s16(n_frames / fps, rate, 1).tobytes()
        src = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        src.planes[0].update(pcm)
        src.sample_rate = rate
        fifo = av.AudioFifo()
        resampler = av.AudioResampler(format=cc.format, layout="mono", rate=rate)
        for f in [*resampler.resample(src), *resampler.resample(None)]:
            fifo.write(f)
        pts = 0
        while fifo.samples:
            chunk = fifo.read(min(cc.frame_size or 1024, fifo.samples), partial=True)
            chunk.pts = pts
            pts += chunk.samples
            out.mux(aus.encode(chunk))
        out.mux(aus.encode(None))


@cache
def mp4_bytes(
    *,
    seconds: float = 1.0,
    width: int = 64,
    height: int = 48,
    fps: int = 10,
    audio: bool = False,
    faststart: bool = False,
    rotation: int = 0,
) -> bytes:
    """H.264 in MP4 (``audio=True`` adds an AAC track; ``faststart`` puts the index first;
    ``rotation`` writes a display matrix, as phones do for portrait video)."""
    return _encode_video(
        "mp4",
        "libx264",
        seconds=seconds,
        width=width,
        height=height,
        fps=fps,
        audio="aac" if audio else None,
        rotation=rotation,
        options={"preset": "ultrafast"},
        container_options={"movflags": "+faststart"} if faststart else None,
    )


@cache
def webm_bytes(
    *,
    seconds: float = 1.0,
    width: int = 64,
    height: int = 48,
    fps: int = 10,
    codec: str = "vp8",
    audio: bool = False,
    live: bool = False,
) -> bytes:
    """VP8 (``codec="vp8"``) or VP9 (``"vp9"``) in WebM, optionally with an Opus track.
    ``live=True`` writes it as a browser's MediaRecorder does: no duration, no index (cues)."""
    encoder = {"vp8": "libvpx", "vp9": "libvpx-vp9"}[codec]
    return _encode_video(
        "webm",
        encoder,
        seconds=seconds,
        width=width,
        height=height,
        fps=fps,
        audio="libopus" if audio else None,
        options={"deadline": "realtime", "cpu-used": "8"},
        container_options={"live": "1"} if live else None,
    )


@cache
def mov_bytes(*, seconds: float = 1.0, width: int = 64, height: int = 48, fps: int = 10, audio: bool = False) -> bytes:
    """H.264 in a QuickTime (.mov) container."""
    return _encode_video(
        "mov",
        "libx264",
        seconds=seconds,
        width=width,
        height=height,
        fps=fps,
        audio="aac" if audio else None,
        options={"preset": "ultrafast"},
    )


# --- PDF ----------------------------------------------------------------------------------


@cache
def pdf_bytes(pages: int = 3, width: int = 200, height: int = 260) -> bytes:
    """A PDF with ``pages`` pages (Pillow's PDF writer; one picture per page)."""
    ims = [_picture(width, height, seed=i) for i in range(pages)]
    return _save(ims[0], "PDF", save_all=True, append_images=ims[1:], resolution=72)


def _pdf_from_objects(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """Assemble a classic PDF (numbered objects, xref table, trailer) from object bodies."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_extra, xref)
    return bytes(out)


_PDF_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    i = j = 0
    out = bytearray()
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def _encrypted_pdf(user_password_needed: bool) -> bytes:
    """A one-page PDF with RC4 40-bit (R2) standard security. With an empty user password it
    opens (owner-password-only encryption); otherwise its /U entry fits no empty password."""
    file_id = hashlib.md5(b"prism-sample").digest()
    owner = hashlib.md5(b"owner").digest() * 2
    perms = -4
    key = hashlib.md5(_PDF_PAD + owner + struct.pack("<i", perms) + file_id).digest()[:5]
    user = _rc4(key, _PDF_PAD)
    if user_password_needed:
        user = bytes(32 - i for i in range(32))  # matches no password we will be given
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>" % (owner.hex().encode(), user.hex().encode(), perms),
    ]
    return _pdf_from_objects(objects, b"/Encrypt 4 0 R /ID [<%s> <%s>] " % ((file_id.hex().encode(),) * 2))


@cache
def locked_pdf_bytes() -> bytes:
    """An encrypted PDF that needs a password to open."""
    return _encrypted_pdf(user_password_needed=True)


@cache
def encrypted_pdf_bytes() -> bytes:
    """An encrypted PDF that opens without a password (owner password only)."""
    return _encrypted_pdf(user_password_needed=False)


@cache
def corrupt_pdf_bytes() -> bytes:
    """Starts like a PDF, then nothing a PDF reader can use."""
    return b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


# --- bad files ----------------------------------------------------------------------------


def empty_bytes() -> bytes:
    return b""


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@cache
def corrupt_png_bytes() -> bytes:
    """A real PNG signature and IHDR (64x48 RGB), then garbage where the image data should be."""
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0))
    garbage = bytes((i * 131 + 7) % 256 for i in range(2000))
    return b"\x89PNG\r\n\x1a\n" + ihdr + garbage


@cache
def corrupt_jpeg_bytes() -> bytes:
    """The first half of a real JPEG (the decoder runs out of data)."""
    data = jpeg_bytes(256, 192)
    return data[: len(data) // 2]


@cache
def bomb_png_bytes(width: int = 20000, height: int = 20000) -> bytes:
    """A small, valid-looking PNG whose header claims ``width`` x ``height`` (a decompression bomb).

    Hand-built: an IHDR for a 1-bit greyscale image, and one tiny IDAT holding the zlib stream of
    the first rows only, so nothing of the claimed size is ever allocated here.
    """
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
    row = b"\x00" + bytes((width + 7) // 8)  # filter byte + packed bits
    idat = _png_chunk(b"IDAT", zlib.compress(row * 4, 9))
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat + _png_chunk(b"IEND", b"")


@cache
def bomb_webp_bytes(width: int = 16000, height: int = 16000) -> bytes:
    """A tiny WebP whose extended header (VP8X) claims a ``width`` x ``height`` canvas, which
    libwebp would allocate in full as soon as the file is opened."""
    simple = webp_bytes(16, 16)
    assert simple[12:16] == b"VP8 ", "expected a simple lossy WebP to wrap"
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + vp8x + simple[12:]
    return b"RIFF" + struct.pack("<I", len(body)) + body


@cache
def png16_bytes(width: int = 32, height: int = 24) -> bytes:
    """A 16-bit greyscale PNG (mode I;16), a ramp over the full 0-65535 range."""
    im = Image.new("I;16", (width, height))
    im.putdata([(x * 65535) // max(width - 1, 1) for _y in range(height) for x in range(width)])
    return _save(im, "PNG")


@cache
def cmyk_jpeg_bytes(width: int = 32, height: int = 24) -> bytes:
    return _save(_picture(width, height).convert("CMYK"), "JPEG", quality=90)


@cache
def transparent_gif_bytes(width: int = 32, height: int = 24) -> bytes:
    """A still GIF whose left half is transparent."""
    im = _picture(width, height).convert("RGBA")
    ImageDraw.Draw(im).rectangle((0, 0, width // 2 - 1, height), fill=(0, 0, 0, 0))
    return _save(im, "GIF")


@cache
def text_bytes() -> bytes:
    """Plain text (whatever name it is given, it is not media)."""
    return b"This is not audio, just some words in a text file.\n" * 20


@cache
def truncated_mp4_bytes() -> bytes:
    """The first half of a valid MP4 whose index (moov) is at the end, as most encoders write it."""
    data = mp4_bytes()
    return data[: len(data) // 2]


# name -> (function, suffix usually given to such a file)
SAMPLES = {
    "png": (png_bytes, ".png"),
    "jpeg": (jpeg_bytes, ".jpg"),
    "gif": (gif_bytes, ".gif"),
    "webp": (webp_bytes, ".webp"),
    "tiff": (tiff_bytes, ".tif"),
    "bmp": (bmp_bytes, ".bmp"),
    "heic": (heic_bytes, ".heic"),
    "wav": (wav_bytes, ".wav"),
    "mp3": (mp3_bytes, ".mp3"),
    "flac": (flac_bytes, ".flac"),
    "ogg_opus": (ogg_opus_bytes, ".opus"),
    "ogg_vorbis": (ogg_vorbis_bytes, ".ogg"),
    "m4a": (m4a_bytes, ".m4a"),
    "webm_audio": (webm_audio_bytes, ".webm"),
    "mp4": (mp4_bytes, ".mp4"),
    "webm": (webm_bytes, ".webm"),
    "mov": (mov_bytes, ".mov"),
    "pdf": (pdf_bytes, ".pdf"),
}

BAD_SAMPLES = {
    "empty": (empty_bytes, ".png"),
    "corrupt_png": (corrupt_png_bytes, ".png"),
    "corrupt_jpeg": (corrupt_jpeg_bytes, ".jpg"),
    "bomb_png": (bomb_png_bytes, ".png"),
    "bomb_webp": (bomb_webp_bytes, ".webp"),
    "text": (text_bytes, ".wav"),
    "truncated_mp4": (truncated_mp4_bytes, ".mp4"),
    "corrupt_pdf": (corrupt_pdf_bytes, ".pdf"),
    "locked_pdf": (locked_pdf_bytes, ".pdf"),
}


# --- decompression bombs that pass every header check ----------------------------------------


def _deflate_repeated(byte: int, total: int, chunk: int = 1024 * 1024) -> bytes:
    """zlib stream of ``total`` copies of ``byte``, made without ever holding or compressing more
    than two chunks: after a full flush deflate starts afresh, so every further chunk compresses
    to the same bytes, and the Adler-32 of a run of one byte value has a closed form."""
    assert total % chunk == 0
    c = zlib.compressobj(9)
    data = bytes([byte]) * chunk
    first = c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.flush(zlib.Z_FINISH)  # the final (empty) block and the Adler-32 of two chunks
    a = (1 + total * byte) % 65521
    b = (total + byte * total * (total + 1) // 2) % 65521
    return first + again * (total // chunk - 1) + end[:-4] + struct.pack(">I", (b << 16) | a)


@cache
def bomb_pdf_bytes(expanded: int = 1024 * 1024 * 1024) -> bytes:
    """A valid one-page PDF whose page content stream is ~1 MB of Flate that inflates to
    ``expanded`` bytes of spaces (1 GiB): harmless to inspect, ruinous to draw."""
    stream = _deflate_repeated(0x20, expanded)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    return _pdf_from_objects(objects)


@cache
def big_png_bytes(width: int = 10000, height: int = 10000) -> bytes:
    """A valid 8-bit RGB PNG of width x height black pixels (100 megapixels, exactly the default
    limit, so the header check passes); ~300 MB decoded from a ~300 KB file."""
    raw = b"\x00" + bytes(3 * width)  # filter byte + one row of zeros
    c = zlib.compressobj(9)
    rows = max(r for r in range(1, 65) if height % r == 0)
    block = raw * rows
    first = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    total = len(raw) * height
    end = c.flush(zlib.Z_FINISH)
    a = 1 % 65521  # Adler-32 of zeros: A stays 1, B grows by 1 per byte
    b = total % 65521
    idat = first + again * (height // rows - 1) + end[:-4] + struct.pack(">I", (b << 16) | a)
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + ihdr + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
