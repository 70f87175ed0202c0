"""Find out what an uploaded file really is, by decoding it, and refuse what is not acceptable.

No Django here: this module is plain Python over Pillow (+ pillow-heif), PyAV and pypdfium2, so
it can run anywhere (a view, a Celery task, a test) and is quick to test. Drawing pictures of a
checked file (thumbnails, waveforms, posters) is pictures.py's job; the opening helpers below
(:func:`open_image`, :func:`open_container`, ...) are shared with it and with variants.py.

How a file is checked:

1. The first bytes choose a decoder from an allowlist (magic numbers only; the file name and
   any declared content type are never consulted).
2. That one decoder opens the file and reads the header: image size, container streams.
   Limits are applied here, before any pixel or sample is decoded (decompression bombs,
   huge animations, huge video frames).
3. The file is decoded for real: an image's pixels (JPEG at 1/8 scale, which still runs the
   whole entropy decoder), a first audio/video frame, and a frame near the end for containers
   whose index promises a length (so a file cut short is caught), a PDF's first page.

Anything that fails raises :class:`MediaRejected` whose text can be shown to the user as is.

Decompression bombs: Pillow's own guard uses the process-global ``Image.MAX_IMAGE_PIXELS``. We
leave that global alone. Instead the decoder's factory is called directly (what ``Image.open``
does internally, minus its global check), the header's size is compared with *our* limit, and
only then are pixels decoded. So the limit is per call and nothing leaks to other Pillow users.
"""

from __future__ import annotations

import io
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import av
import av.error
import pypdfium2 as pdfium
from PIL import Image, ImageFile

try:  # HEIC/HEIF support is optional: without pillow-heif such files are simply not recognised.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - pillow-heif is in requirements.txt
    HEIF_SUPPORTED = False

# Besides the check itself: the helpers pictures.py and variants.py use to open a checked file again.
__all__ = [
    "DEFAULT_MAX_ANIMATION_PIXELS",
    "DEFAULT_MAX_IMAGE_PIXELS",
    "DEFAULT_MAX_VIDEO_EDGE",
    "HEIF_SUPPORTED",
    "PDFIUM_LOCK",
    "MediaInfo",
    "MediaRejected",
    "container_for",
    "damaged_image_reason",
    "exif_orientation",
    "first_frame",
    "image_format",
    "inspect_file",
    "open_container",
    "open_image",
    "pick_streams",
    "sniff_mime",
    "stream_duration",
]

DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
# An animation is decoded frame by frame; bound the total work (e.g. 1000 frames of 1 MP).
DEFAULT_MAX_ANIMATION_PIXELS = 1_000_000_000
# 8K video is 7680×4320; anything with a side over this is refused before decoding.
DEFAULT_MAX_VIDEO_EDGE = 8192

NOT_SUPPORTED = "This file is not a supported image, audio, video or PDF."
EMPTY = "This file is empty."
TOO_LARGE = "The image is too large to open safely."


class MediaRejected(Exception):
    """The file is not acceptable. ``str(exc)`` is a clear sentence for the user."""


@dataclass(frozen=True)
class MediaInfo:
    kind: str  # "image" | "audio" | "video" | "pdf"
    mime_type: str  # the true type, from the bytes
    format: str  # short name: "PNG", "JPEG", "wav", "mp3", "mp4", ...
    width: int | None = None  # images and videos: as displayed (EXIF orientation / rotation applied)
    height: int | None = None
    duration_s: float | None = None
    page_count: int | None = None
    frame_count: int | None = None  # images: frames (1 for a still); videos: when the container says
    details: dict = field(default_factory=dict)  # JSON-safe extras (codec, sample_rate, fps, ...)


# --- sniffing ----------------------------------------------------------------------------------

# What the first bytes can select. Images name a Pillow decoder, audio/video a PyAV demuxer.
_IMAGE = "image"
_AV = "av"
_PDF = "pdf"

# ISO base media ("ftyp") brands that mean a HEIF still image rather than a movie.
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
# QuickTime files old enough to have no "ftyp" start with one of these atoms.
_QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_BMP_DIB_SIZES = {12, 40, 52, 56, 64, 108, 124}

_IMAGE_TYPES = {  # Pillow format -> (mime type, format name we report)
    "PNG": ("image/png", "PNG"),
    "JPEG": ("image/jpeg", "JPEG"),
    "GIF": ("image/gif", "GIF"),
    "WEBP": ("image/webp", "WEBP"),
    "TIFF": ("image/tiff", "TIFF"),
    "BMP": ("image/bmp", "BMP"),
    "HEIC": ("image/heic", "HEIC"),
    "HEIF": ("image/heif", "HEIF"),
}


@dataclass(frozen=True)
class _Sniffed:
    family: str  # _IMAGE | _AV | _PDF
    name: str  # Pillow format, our container label ("wav", "mp3", "flac", "ogg", "mp4", "mov", "webm"), or "pdf"


def _id3_size(head: bytes) -> int:
    """Length of a leading ID3v2 tag (0 if none)."""
    if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return 0
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


def _is_mp3_frame(b: bytes) -> bool:
    """An MPEG audio Layer III frame header (11 sync bits, a valid version, bitrate and rate)."""
    if len(b) < 4 or b[0] != 0xFF or (b[1] & 0xE0) != 0xE0:
        return False
    version = (b[1] >> 3) & 3
    layer = (b[1] >> 1) & 3
    bitrate = b[2] >> 4
    rate = (b[2] >> 2) & 3
    return version != 1 and layer == 1 and bitrate != 15 and rate != 3


def _sniff_head(head: bytes) -> _Sniffed | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _Sniffed(_IMAGE, "PNG")
    if head.startswith(b"\xff\xd8\xff"):
        return _Sniffed(_IMAGE, "JPEG")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _Sniffed(_IMAGE, "GIF")
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return _Sniffed(_AV, "wav")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _Sniffed(_IMAGE, "WEBP")
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _Sniffed(_IMAGE, "TIFF")
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack("<I", head[14:18])[0] in _BMP_DIB_SIZES:
        return _Sniffed(_IMAGE, "BMP")
    if head[:4] == b"fLaC":
        return _Sniffed(_AV, "flac")
    if head[:4] == b"OggS":
        return _Sniffed(_AV, "ogg")
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska or WebM, told apart by the DocType
        if b"webm" in head[:64]:
            return _Sniffed(_AV, "webm")
        if b"matroska" in head[:64]:
            return _Sniffed(_AV, "matroska")  # recognised only to refuse it clearly
        return None
    if head[4:8] == b"ftyp" and len(head) >= 12:
        box = struct.unpack(">I", head[:4])[0]
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(box, len(head)) - 3, 4)}
        major = head[8:12]
        if brands & _AVIF_BRANDS and major not in _HEIC_BRANDS:
            return None  # AVIF is not on the list
        if major in _HEIC_BRANDS:
            return _Sniffed(_IMAGE, "HEIC")
        if major in _HEIF_BRANDS:
            return _Sniffed(_IMAGE, "HEIC" if brands & _HEIC_BRANDS else "HEIF")
        return _Sniffed(_AV, "mov" if major == b"qt  " else "mp4")
    if head[4:8] in _QT_ATOMS and len(head) >= 8:
        return _Sniffed(_AV, "mov")
    if b"%PDF-" in head[:1024]:
        return _Sniffed(_PDF, "pdf")
    if _is_mp3_frame(head):
        return _Sniffed(_AV, "mp3")
    return None


def _sniff_file(fp: BinaryIO) -> _Sniffed | None:
    fp.seek(0)
    head = fp.read(1024)
    skip = _id3_size(head)
    if skip:  # MP3 (or, rarely, FLAC) behind an ID3v2 tag, maybe followed by zero padding
        fp.seek(skip)
        after = fp.read(4096)
        after = after.lstrip(b"\x00")
        if after[:4] == b"fLaC":
            return _Sniffed(_AV, "flac")
        if _is_mp3_frame(after):
            return _Sniffed(_AV, "mp3")
        return None
    return _sniff_head(head)


_SNIFF_MIME = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "pdf": "application/pdf",
}


def sniff_mime(head: bytes) -> str | None:
    """A first guess at the type from the first bytes (about 1 KiB), before any decoding.

    Only a hint (e.g. to stop a download early): audio-only MP4/WebM still say video/*, and
    nothing is checked. :func:`inspect_file` is the real test.
    """
    skip = _id3_size(head)
    if skip:
        return "audio/mpeg" if len(head) <= skip or _is_mp3_frame(head[skip:].lstrip(b"\x00")) else None
    sniffed = _sniff_head(head)
    if sniffed is None or sniffed.name == "matroska":
        return None
    if sniffed.family == _IMAGE:
        return _IMAGE_TYPES[sniffed.name][0]
    return _SNIFF_MIME[sniffed.name]


# --- images ------------------------------------------------------------------------------------


def _megapixels(pixels: int) -> str:
    mp = pixels / 1_000_000
    return f"{mp:.0f}" if mp >= 10 or mp == int(mp) else f"{mp:.1f}"


def _label(pil_format: str) -> str:
    return {"WEBP": "WebP"}.get(pil_format, pil_format)


def damaged_image_reason(pil_format: str) -> str:
    return f"The {_label(pil_format)} image is damaged or incomplete, so it could not be read."


def image_format(fp: BinaryIO) -> str:
    """The Pillow format the first bytes of ``fp`` select; MediaRejected if they are not an image's."""
    sniffed = _sniff_file(fp)
    if sniffed is None or sniffed.family != _IMAGE:
        raise MediaRejected(NOT_SUPPORTED)
    return sniffed.name


def open_image(fp: BinaryIO, pil_format: str, *, max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> ImageFile.ImageFile:
    """Open ``fp`` with exactly one Pillow decoder and check its size against our limit.

    Only the header is read: no pixels are decoded, so a decompression bomb costs nothing.
    The factory is called directly (see the module docstring) so Pillow's process-global
    ``MAX_IMAGE_PIXELS`` neither limits nor warns; ``max_image_pixels`` is the limit.
    """
    Image.init()
    registry_name = "HEIF" if pil_format in ("HEIC", "HEIF") else pil_format
    if registry_name not in Image.OPEN:
        raise MediaRejected(NOT_SUPPORTED)
    factory, _accept = Image.OPEN[registry_name]
    fp.seek(0)
    if pil_format == "WEBP":
        # libwebp allocates the whole canvas when the file is opened: check its size first.
        size = _webp_canvas_size(fp.read(30))
        fp.seek(0)
        if size:
            _check_pixels(*size, max_image_pixels)
    try:
        im = factory(fp, "")
    except Image.DecompressionBombError as exc:  # Pillow's own last-resort guard, inside some plugins
        raise MediaRejected(TOO_LARGE) from exc
    except MemoryError:
        raise  # over the memory limit of a sandboxed check (sandbox.py), not a damaged file
    except Exception as exc:
        raise MediaRejected(damaged_image_reason(pil_format)) from exc
    width, height = im.size
    if width <= 0 or height <= 0:
        raise MediaRejected(f"The {_label(pil_format)} image has no pixels.")
    _check_pixels(width, height, max_image_pixels)
    return im


def _check_pixels(width: int, height: int, max_image_pixels: int) -> None:
    if width * height > max_image_pixels:
        raise MediaRejected(
            f"The image is {width}×{height} ({_megapixels(width * height)} megapixels), "
            f"over the {_megapixels(max_image_pixels)} megapixel limit."
        )


def _webp_canvas_size(head: bytes) -> tuple[int, int] | None:
    """Width and height from the first 30 bytes of a WebP (extended, lossless or lossy)."""
    if len(head) < 30 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    chunk = head[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    return None


_ORIENTATION_TAG = 0x0112


def exif_orientation(im: Image.Image) -> int:
    """The EXIF orientation, 1 (upright) to 8; 5-8 swap width and height (pictures.py turns them)."""
    try:
        value = int(im.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # unreadable EXIF is not a reason to refuse the picture
        return 1
    return value if 1 <= value <= 8 else 1


def _inspect_image(fp: BinaryIO, pil_format: str, max_image_pixels: int, max_animation_pixels: int) -> MediaInfo:
    damaged = damaged_image_reason(pil_format)
    im = open_image(fp, pil_format, max_image_pixels=max_image_pixels)
    width, height = im.size
    try:
        if pil_format == "PNG":
            # verify() checks every chunk's CRC without inflating; it must come straight after
            # opening and leaves the image unusable, so open again to decode the pixels.
            im.verify()
            im = open_image(fp, pil_format, max_image_pixels=max_image_pixels)
        frames = _count_frames(im, width * height, max_animation_pixels)
        orientation = exif_orientation(im)
        mode = im.mode
        has_alpha = "A" in im.getbands() or "transparency" in im.info
        if pil_format == "JPEG":
            # Decode at 1/8 scale: the entropy-coded data is still all read and checked, but the
            # inverse DCT and colour conversion work on 64× fewer pixels.
            im.draft(None, (1, 1))
        im.load()
    except (MediaRejected, MemoryError):
        raise
    except Image.DecompressionBombError as exc:  # e.g. a GIF frame far larger than its screen
        raise MediaRejected(TOO_LARGE) from exc
    except Exception as exc:
        raise MediaRejected(damaged) from exc

    mime, fmt = _IMAGE_TYPES[pil_format]
    if pil_format == "JPEG" and getattr(im, "format", "") == "MPO":
        fmt = "JPEG"  # a multi-picture JPEG from a camera: the first picture is a plain JPEG
    details: dict = {"mode": mode, "has_alpha": bool(has_alpha)}
    if pil_format in ("GIF", "PNG", "WEBP"):
        details["animated"] = frames > 1
    elif frames > 1:
        details["images"] = frames  # multi-page TIFF, HEIF collection: the first one is used
    if orientation != 1:
        details["exif_orientation"] = orientation
        if orientation in (5, 6, 7, 8):
            width, height = height, width
    if im.info.get("icc_profile"):
        details["icc_profile"] = True
    return MediaInfo(
        kind="image", mime_type=mime, format=fmt, width=width, height=height, frame_count=frames, details=details
    )


def _count_frames(im: Image.Image, pixels_per_frame: int, max_animation_pixels: int) -> int:
    """How many frames, refusing animations too big to decode in total. Cheap: GIF frames are
    walked without decoding, APNG/WebP/TIFF report their count from headers."""
    if not getattr(im, "is_animated", False) and not getattr(im, "n_frames", 1) > 1:
        return 1
    frames = int(getattr(im, "n_frames", 1))
    if frames * pixels_per_frame > max_animation_pixels:
        raise MediaRejected(
            f"The animation has {frames} frames of {im.size[0]}×{im.size[1]}, "
            f"{_megapixels(frames * pixels_per_frame)} megapixels in all, "
            f"over the {_megapixels(max_animation_pixels)} megapixel limit."
        )
    return frames


# --- audio and video -----------------------------------------------------------------------------

_AV_LABEL = {
    "wav": "WAV",
    "mp3": "MP3",
    "flac": "FLAC",
    "ogg": "Ogg",
    "mp4": "MP4",
    "mov": "QuickTime",
    "webm": "WebM",
}
_DEMUXER = {"wav": "wav", "mp3": "mp3", "flac": "flac", "ogg": "ogg", "mp4": "mp4", "mov": "mov", "webm": "webm"}
# Containers whose header/index states a length we can check the end of. (MP3 and Ogg lengths
# are estimated from the data actually present, so a short file is just a shorter file.)
_HAS_INDEX = {"wav", "flac", "mp4", "mov", "webm"}


_CONTAINER_OF_MIME = {
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/flac": "flac",
    "audio/ogg": "ogg",
    "audio/mp4": "mp4",  # the same demuxer reads MOV
    "audio/webm": "webm",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}


def container_for(info: MediaInfo) -> str:
    """The demuxer label (for :func:`open_container`) of audio or video that inspect_file passed."""
    try:
        return _CONTAINER_OF_MIME[info.mime_type]
    except KeyError:
        raise MediaRejected(f"{info.mime_type} is not audio or video.") from None


def open_container(path, container: str):
    """Open ``path`` with PyAV, forcing the demuxer chosen by sniffing (no probing)."""
    return av.open(str(path), mode="r", format=_DEMUXER[container])


def pick_streams(container) -> tuple:
    """(video stream or None, audio stream or None): the first real ones. Cover art (an attached
    picture, common in MP3/M4A) is not video."""
    video = audio = None
    for stream in container.streams:
        if stream.type == "video" and video is None:
            if stream.disposition & av.stream.Disposition.attached_pic:
                continue
            video = stream
        elif stream.type == "audio" and audio is None:
            audio = stream
    return video, audio


def first_frame(container, stream, *, max_packets: int = 2000):
    """Demux and decode ``stream`` from the current position until a frame comes out.

    Returns the frame, or None when the data ends (or ``max_packets`` pass) without one.
    Decoder errors propagate as ``av.error.FFmpegError``.
    """
    packets = 0
    for packet in container.demux(stream):
        for frame in packet.decode():
            return frame
        packets += 1
        if packets >= max_packets:
            return None
    return None


def _seconds(value, time_base) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def stream_duration(container, stream) -> float | None:
    """Length in seconds from the headers: the stream's own, else the container's."""
    d = _seconds(stream.duration, stream.time_base) if stream is not None else None
    if d is None or d <= 0:
        d = container.duration / av.time_base if container.duration else None
    return d if d and d > 0 else None


def _scan_duration(path, container_name: str, stream_index: int) -> float | None:
    """Length found by reading every packet's timestamp (no decoding), for files whose header
    has no duration, like WebM recorded in a browser."""
    end = None
    with open_container(path, container_name) as c:
        stream = c.streams[stream_index]
        for packet in c.demux(stream):
            if packet.pts is None or packet.time_base is None:
                continue
            t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            end = t if end is None else max(end, t)
        start = _seconds(stream.start_time, stream.time_base) or 0.0
    return end - start if end is not None else None


def _reaches_end(container, stream, duration: float) -> bool:
    """Seek close to the end the header promises, decode a frame there, then read (without
    decoding) to the end of the data: False if the file stops short of that end, as a file cut
    off while uploading or copying does. Costs at most about one key-frame interval of packets."""
    margin = min(1.0, duration * 0.25)
    target = duration - margin
    start = stream.start_time or 0
    try:
        container.seek(int(target / stream.time_base) + start, stream=stream, backward=True)
        if first_frame(container, stream, max_packets=1000) is None:
            return False
        end = 0.0
        for packet in container.demux():
            if packet.pts is not None and packet.time_base is not None:
                first = packet.stream.start_time or 0
                end = max(end, float((packet.pts - first + (packet.duration or 0)) * packet.time_base))
    except av.error.FFmpegError:
        return False
    return end >= target


def _wav_length(path) -> tuple[float, float] | None:
    """(seconds the WAV's data chunk header promises, seconds of data present), or None when the
    header states no size (streamed WAVs write 0 or 0xFFFFFFFF) or cannot be read (RF64).
    FFmpeg measures a cut WAV by the bytes present, so the promise has to be read here."""
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        byte_rate = 0
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if kind == b"fmt " and size >= 16:
                fmt = f.read(size + (size & 1))
                byte_rate = struct.unpack("<I", fmt[8:12])[0]
            elif kind == b"data":
                if not byte_rate or size in (0, 0xFFFFFFFF):
                    return None
                start = f.tell()
                f.seek(0, io.SEEK_END)
                return size / byte_rate, (f.tell() - start) / byte_rate
            else:
                f.seek(size + (size & 1), io.SEEK_CUR)


def _mp3_promises_length(path) -> bool:
    """Whether the first MP3 frame is a Xing/Info or VBRI header, which states the frame count
    (and so the length FFmpeg reports). Without one FFmpeg estimates from the bit rate."""
    with open(path, "rb") as f:
        head = f.read(1024)
        f.seek(_id3_size(head))
        data = f.read(8192).lstrip(b"\x00")
    return any(tag in data[:200] for tag in (b"Xing", b"Info", b"VBRI"))


# A cut-off tail shorter than this is not worth refusing a file over (encoder padding, rounding).
_AUDIO_SLACK_S = 0.25


def _rate(value) -> float | None:
    if not value:
        return None
    return round(float(value), 3)


def _codec_name(cc) -> str:
    """The codec's standard name ("mp3"), not the decoder's ("mp3float")."""
    codec = getattr(cc, "codec", None)
    return str(getattr(codec, "canonical_name", None) or cc.name)


def _audio_details(stream, prefix: str = "") -> dict:
    cc = stream.codec_context
    layout = getattr(cc, "layout", None)
    out = {
        f"{prefix}codec": _codec_name(cc),
        "sample_rate": int(cc.sample_rate or 0) or None,
        "channels": int(layout.nb_channels) if layout is not None else int(getattr(cc, "channels", 0) or 0) or None,
    }
    if layout is not None and layout.name and not layout.name.endswith("channels"):
        out["channel_layout"] = layout.name
    if not prefix and cc.bit_rate:
        out["bit_rate"] = int(cc.bit_rate)
    return out


def _inspect_av(path, container_name: str, max_video_edge: int) -> MediaInfo:
    if container_name == "matroska":
        raise MediaRejected("Matroska (MKV) files are not supported; please convert the file to MP4 or WebM.")
    label = _AV_LABEL[container_name]
    try:
        container = open_container(path, container_name)
    except av.error.FFmpegError as exc:
        if container_name in ("mp4", "mov"):
            raise MediaRejected(
                f"The {label} file is incomplete or damaged (its index could not be read), "
                "perhaps because it was cut short while copying or uploading."
            ) from exc
        raise MediaRejected(f"The {label} file is damaged and could not be read.") from exc
    with container:
        video, audio = pick_streams(container)
        if video is not None and container_name not in ("mp4", "mov", "webm"):
            raise MediaRejected(f"Video in {label} files is not supported; please use MP4, WebM or MOV.")
        main = video if video is not None else audio
        if main is None:
            raise MediaRejected(f"The {label} file has no audio or video in it.")
        kind = "video" if video is not None else "audio"

        details: dict = {}
        width = height = None
        if video is not None:
            cc = video.codec_context
            width, height = int(cc.width or 0), int(cc.height or 0)
            if max(width, height) > max_video_edge:
                raise MediaRejected(
                    f"The video is {width}×{height}, over the limit of {max_video_edge} pixels per side."
                )
        damaged = f"The {label} {kind} is damaged and could not be decoded."
        try:
            frame = first_frame(container, main)
        except av.error.FFmpegError as exc:
            raise MediaRejected(damaged) from exc
        if frame is None:
            raise MediaRejected(f"The {label} file contains no {kind} that can be decoded.")

        duration = stream_duration(container, main)
        if container_name in _HAS_INDEX and duration and not _reaches_end(container, main, duration):
            raise MediaRejected(
                f"The {label} file is incomplete: it stops before the end its header promises, "
                "perhaps because it was cut short while copying or uploading."
            )

        if video is not None:
            if not width or not height:
                width, height = frame.width, frame.height
            if max(width, height) > max_video_edge:
                raise MediaRejected(
                    f"The video is {width}×{height}, over the limit of {max_video_edge} pixels per side."
                )
            rotation = int(round((frame.rotation or 0) / 90.0)) * 90 % 360
            details["video_codec"] = _codec_name(video.codec_context)
            details["fps"] = _rate(video.average_rate) or _rate(video.guessed_rate)
            details["pix_fmt"] = video.codec_context.pix_fmt
            if rotation:
                details["rotation"] = rotation
                if rotation in (90, 270):
                    width, height = height, width
            details["has_audio"] = audio is not None
            if audio is not None:
                details.update(_audio_details(audio, prefix="audio_"))
            if container.bit_rate:
                details["bit_rate"] = int(container.bit_rate)
        else:
            details.update(_audio_details(audio))
            if "bit_rate" not in details and container.bit_rate:
                details["bit_rate"] = int(container.bit_rate)
        stream_index = main.index
        frame_count = int(video.frames) if video is not None and video.frames else None

    if container_name == "wav" and (promised := _wav_length(path)) and promised[1] < promised[0] - _AUDIO_SLACK_S:
        raise MediaRejected(_cut_short(label, *promised))
    if duration is None or container_name == "mp3":
        # MP3: the length FFmpeg reports comes from a header or the bit rate, not from the frames
        # present; read them (no decoding) so a cut file is caught and a VBR estimate corrected.
        try:
            measured = _scan_duration(path, container_name, stream_index)
        except av.error.FFmpegError:
            measured = None
        if container_name == "mp3" and duration and _mp3_promises_length(path):
            if (measured or 0.0) < duration - _AUDIO_SLACK_S:
                raise MediaRejected(_cut_short(label, duration, measured or 0.0))
        duration = measured if measured else duration

    if kind == "audio":
        mime, fmt = {
            "wav": ("audio/wav", "wav"),
            "mp3": ("audio/mpeg", "mp3"),
            "flac": ("audio/flac", "flac"),
            "ogg": ("audio/ogg", "ogg"),
            "mp4": ("audio/mp4", "m4a"),
            "mov": ("audio/mp4", "m4a"),
            "webm": ("audio/webm", "webm"),
        }[container_name]
    else:
        mime, fmt = {"mp4": ("video/mp4", "mp4"), "mov": ("video/quicktime", "mov"), "webm": ("video/webm", "webm")}[
            container_name
        ]
    return MediaInfo(
        kind=kind,
        mime_type=mime,
        format=fmt,
        width=width,
        height=height,
        duration_s=round(duration, 3) if duration else None,
        frame_count=frame_count,
        details={k: v for k, v in details.items() if v is not None},
    )


def _cut_short(label: str, promised: float, present: float) -> str:
    return (
        f"The {label} file is incomplete: its header promises {promised:.1f} s of audio but it stops "
        f"after {present:.1f} s, perhaps because it was cut short while copying or uploading."
    )


# --- PDF ---------------------------------------------------------------------------------------

# PDFium is not thread-safe: one document operation at a time in this process.
PDFIUM_LOCK = threading.RLock()
_FPDF_ERR_PASSWORD = 4


def _inspect_pdf(path) -> MediaInfo:
    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            if getattr(exc, "err_code", None) == _FPDF_ERR_PASSWORD:
                raise MediaRejected("This PDF is password-protected; please upload a copy without a password.") from exc
            raise MediaRejected("The PDF is damaged and could not be opened.") from exc
        try:
            if pdfium.raw.FPDF_GetSecurityHandlerRevision(pdf.raw) != -1:
                raise MediaRejected("This PDF is encrypted; please upload a copy saved without encryption.")
            pages = len(pdf)
            if pages < 1:
                raise MediaRejected("The PDF has no pages.")
            try:
                page = pdf[0]
                page_w, page_h = page.get_size()
                page.close()
            except pdfium.PdfiumError as exc:
                raise MediaRejected("The PDF is damaged: its first page could not be read.") from exc
            version = pdf.get_version()
        finally:
            pdf.close()
    details = {"page_width_pt": round(page_w, 2), "page_height_pt": round(page_h, 2)}
    if version:
        details["pdf_version"] = f"{version // 10}.{version % 10}"
    return MediaInfo(kind="pdf", mime_type="application/pdf", format="pdf", page_count=pages, details=details)


# --- entry points ------------------------------------------------------------------------------


def inspect_file(
    path,
    *,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    max_animation_pixels: int = DEFAULT_MAX_ANIMATION_PIXELS,
    max_video_edge: int = DEFAULT_MAX_VIDEO_EDGE,
) -> MediaInfo:
    """Decode the file at ``path`` enough to be sure what it is; raise MediaRejected if it is not
    an accepted, intact image, audio, video or PDF. The path's name/suffix is never looked at."""
    path = Path(path)
    with open(path, "rb") as fp:
        fp.seek(0, io.SEEK_END)
        if fp.tell() == 0:
            raise MediaRejected(EMPTY)
        sniffed = _sniff_file(fp)
        if sniffed is None:
            raise MediaRejected(NOT_SUPPORTED)
        if sniffed.family == _IMAGE:
            return _inspect_image(fp, sniffed.name, max_image_pixels, max_animation_pixels)
    if sniffed.family == _AV:
        return _inspect_av(path, sniffed.name, max_video_edge)
    return _inspect_pdf(path)
