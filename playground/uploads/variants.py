"""Prepared forms of checked media: resized/re-encoded images, converted audio, video key frames.

No Django here (see identify.py). A variant is described by a :class:`VariantSpec` whose
:meth:`~VariantSpec.key` is canonical (same settings → same string), so the key together with
the source's content hash identifies the work, and it is done once.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error
from PIL import Image

from .identify import MediaInfo, MediaRejected, container_for, open_container, pick_streams, stream_duration
from .pictures import frame_to_image, pdf_page, prepare_image, to_rgb

__all__ = ["VariantError", "VariantSpec", "VariantOutput", "canonical", "describe", "make_variant"]


class VariantError(Exception):
    """The variant cannot be made; ``str(exc)`` is a sentence for the user."""


# --- specs -----------------------------------------------------------------------------------

_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def _int_in(name: str, lo: int, hi: int):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            try:
                value = int(str(value), 10)
            except ValueError:
                raise VariantError(f"{name} must be a whole number, not {value!r}.") from None
        if not lo <= value <= hi:
            raise VariantError(f"{name} must be between {lo} and {hi}, not {value}.")
        return value

    return check


def _one_of(name: str, *choices):
    def check(value):
        value = str(value).lower()
        if value == "jpg":
            value = "jpeg"
        if value not in choices:
            raise VariantError(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
        return value

    return check


# kind -> {param: (validator, default)}; a None default means "absent unless given".
_PARAMS = {
    "image": {
        "max_edge": (_int_in("max_edge", 16, 16384), None),
        "format": (_one_of("format", "png", "jpeg", "webp"), None),
        "quality": (_int_in("quality", 1, 100), 85),
    },
    "audio": {
        "format": (_one_of("format", "wav", "mp3"), "mp3"),
        "sample_rate": (_int_in("sample_rate", 8000, 192000), None),
        "channels": (_int_in("channels", 1, 2), None),
        "bitrate": (_int_in("bitrate", 32000, 320000), 128000),
    },
    # One page of a PDF, drawn for the item page (cached like any variant, never sent).
    "page": {
        "page": (_int_in("page", 1, 1_000_000), 1),
        "max_edge": (_int_in("max_edge", 16, 4096), 1400),
    },
    "keyframes": {
        "count": (_int_in("count", 1, 64), 8),
        "max_edge": (_int_in("max_edge", 16, 16384), None),
        "format": (_one_of("format", "jpeg", "png"), "jpeg"),
        "quality": (_int_in("quality", 1, 100), 85),
    },
}


def _normalise(kind: str, params) -> tuple:
    if kind not in _PARAMS:
        raise VariantError(f"Unknown variant kind {kind!r}; expected image, audio, keyframes or page.")
    allowed = _PARAMS[kind]
    given = dict(params)
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise VariantError(f"Unknown {kind} variant setting: {', '.join(unknown)}.")
    values = {}
    for name, (check, default) in allowed.items():
        value = given.get(name, default)
        if value is not None:
            values[name] = check(value)
    # Settings that cannot change the output are dropped, so equal outputs share one key.
    if kind == "image" and values.get("format") == "png":
        values.pop("quality", None)
    if kind == "audio" and values["format"] == "wav":
        values.pop("bitrate", None)
    if kind == "keyframes" and values["format"] == "png":
        values.pop("quality", None)
    return tuple(sorted(values.items()))


@dataclass(frozen=True)
class VariantSpec:
    """What to make. ``params`` is a sorted tuple of (name, value) pairs, validated and
    normalised on construction (unknown names and out-of-range values raise VariantError).

    image:     max_edge (int | None: keep size), format ("png" | "jpeg" | "webp" | None: keep
               PNG/JPEG/WebP/GIF, otherwise PNG), quality (1-100, default 85; not for PNG)
    audio:     format ("mp3" default | "wav"), sample_rate (None: keep; MP3 rounds up to a rate
               it allows), channels (1 | 2 | None: keep, more than 2 are mixed down to stereo),
               bitrate (bit/s for MP3, default 128000)
    keyframes: count (1-64, default 8), max_edge (None: keep), format ("jpeg" default | "png"),
               quality (JPEG, default 85)
    """

    kind: str
    params: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "params", _normalise(self.kind, self.params))

    def get(self, name: str, default=None):
        return dict(self.params).get(name, default)

    def key(self) -> str:
        """Canonical text, e.g. ``image:format=jpeg;max_edge=1568;quality=85``."""
        return f"{self.kind}:" + ";".join(f"{k}={v}" for k, v in self.params)

    def __str__(self) -> str:
        return self.key()

    @classmethod
    def parse(cls, key: str) -> VariantSpec:
        kind, sep, rest = key.strip().partition(":")
        if not sep:
            raise VariantError(f"Not a variant spec: {key!r}.")
        params = []
        for part in filter(None, rest.split(";")):
            name, eq, value = part.partition("=")
            if not eq or not name:
                raise VariantError(f"Not a variant spec setting: {part!r}.")
            params.append((name.strip(), value.strip()))
        if len({n for n, _ in params}) != len(params):
            raise VariantError(f"A setting is repeated in {key!r}.")
        return cls(kind.strip(), tuple(params))

    @classmethod
    def image(cls, *, max_edge: int | None = None, format: str | None = None, quality: int = 85) -> VariantSpec:
        return cls("image", (("max_edge", max_edge), ("format", format), ("quality", quality)))

    @classmethod
    def audio(
        cls, *, format: str = "mp3", sample_rate: int | None = None, channels: int | None = None, bitrate: int = 128000
    ) -> VariantSpec:
        return cls(
            "audio", (("format", format), ("sample_rate", sample_rate), ("channels", channels), ("bitrate", bitrate))
        )

    @classmethod
    def keyframes(
        cls, *, count: int = 8, max_edge: int | None = None, format: str = "jpeg", quality: int = 85
    ) -> VariantSpec:
        return cls("keyframes", (("count", count), ("max_edge", max_edge), ("format", format), ("quality", quality)))



# --- the same output, one key ------------------------------------------------------------------

_KEEP_FORMAT_OF = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}  # what "keep the format" writes


def _raw(kind: str, params: dict) -> VariantSpec:
    """A spec from settings already checked (skips the defaults _normalise would add back)."""
    spec = object.__new__(VariantSpec)
    object.__setattr__(spec, "kind", kind)
    object.__setattr__(spec, "params", tuple(sorted((k, v) for k, v in params.items() if v is not None)))
    return spec


def canonical(spec: VariantSpec, source: MediaInfo) -> VariantSpec:
    """``spec`` as the output it makes from ``source`` (what inspect_file found): settings that
    cannot change that output are dropped or written out, so two specs that make the same bytes
    have one key, and a variant is made and listed once.

    Without this, "Keep format" and "JPEG" on a JPEG, a max edge of 1568 px on a 640 px picture
    and none, or a sample rate equal to the source's and "keep", were two variants each: the same
    bytes under two spec strings (the database's one-row-per-(source, spec) rule cannot see that).
    """
    params = dict(spec.params)
    longest = max(source.width or 0, source.height or 0)
    if spec.kind in ("image", "keyframes") and params.get("max_edge") and longest and params["max_edge"] >= longest:
        params.pop("max_edge")  # never enlarged: the same size as without a max edge
    if spec.kind == "image":
        if params.get("format") is None:
            kept = _KEEP_FORMAT_OF.get((source.format or "").upper())
            if (source.format or "").upper() != "GIF":
                params["format"] = kept or "png"  # HEIC, TIFF, BMP are written as PNG
        if params.get("format") in ("png", None):
            params.pop("quality", None)  # PNG and GIF have no quality setting
    elif spec.kind == "audio":
        details = source.details or {}
        if not params.get("channels") and details.get("channels"):
            params["channels"] = min(int(details["channels"]), 2)
        if not params.get("sample_rate") and details.get("sample_rate"):
            params["sample_rate"] = int(details["sample_rate"])
        if params.get("format") == "mp3" and params.get("sample_rate"):
            params["sample_rate"] = _mp3_rate(params["sample_rate"])
    return _raw(spec.kind, params)


# --- the same variant in words ---------------------------------------------------------------

_FORMAT_WORDS = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP", "gif": "GIF", "wav": "WAV", "mp3": "MP3"}


def _rate_words(rate: int) -> str:
    khz = rate / 1000
    return f"{khz:g} kHz"


def describe(spec: VariantSpec) -> str:
    """A variant in words, as every page shows it: "8 key frames, JPEG", "Resized to 1024 px, JPEG
    q85", "16 kHz mono WAV", "Page 3". The spec string stays in the page as a tooltip."""
    p = dict(spec.params)
    fmt = p.get("format")
    if spec.kind == "image":
        size = f"Resized to {p['max_edge']} px" if p.get("max_edge") else "Full size"
        if fmt is None:
            return f"{size}, same format"
        words = _FORMAT_WORDS[fmt] + (f" q{p['quality']}" if fmt in ("jpeg", "webp") and "quality" in p else "")
        return f"{size}, {words}"
    if spec.kind == "audio":
        words = []
        if p.get("sample_rate"):
            words.append(_rate_words(p["sample_rate"]))
        if p.get("channels"):
            words.append("mono" if p["channels"] == 1 else "stereo")
        words.append(_FORMAT_WORDS[fmt])
        text = " ".join(words)
        if fmt == "mp3" and p.get("bitrate"):
            text += f", {p['bitrate'] // 1000} kb/s"
        return text
    if spec.kind == "keyframes":
        n = p["count"]
        text = f"{n} key frame{'s' if n != 1 else ''}"
        if p.get("max_edge"):
            text += f" up to {p['max_edge']} px"
        text += f", {_FORMAT_WORDS[fmt]}"
        if fmt == "jpeg" and p.get("quality", 85) != 85:
            text += f" q{p['quality']}"
        return text
    return f"Page {p['page']}"


def describe_key(key: str) -> str:
    """:func:`describe` for a stored spec string; the string itself if it no longer parses."""
    try:
        return describe(VariantSpec.parse(key))
    except VariantError:
        return key


@dataclass
class VariantOutput:
    data: bytes
    mime_type: str
    details: dict  # images: width/height; audio: duration_s/sample_rate/channels; key frame: time_s too


# --- images ----------------------------------------------------------------------------------

_IMAGE_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
_KEEP_FORMAT = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "gif"}


def _encode_image(im: Image.Image, fmt: str, quality: int) -> bytes:
    buf = io.BytesIO()
    if fmt == "jpeg":
        to_rgb(im, keep_alpha=False).save(buf, "JPEG", quality=quality, optimize=True, progressive=False)
    elif fmt == "webp":
        to_rgb(im).save(buf, "WEBP", quality=quality, method=4)
    elif fmt == "gif":  # only when the source was a GIF: keep its palette (and transparency)
        if im.mode != "P":
            im = to_rgb(im, keep_alpha=False).quantize(256)
        im.save(buf, "GIF")
    else:  # png
        if im.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
            im = to_rgb(im)
        im.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def _image_variant(path, source: MediaInfo, spec: VariantSpec) -> list[VariantOutput]:
    max_edge = spec.get("max_edge")
    try:
        im, meta = prepare_image(path, max_edge=max_edge)
    except MediaRejected as exc:
        raise VariantError(str(exc)) from exc
    fmt = spec.get("format") or _KEEP_FORMAT.get(meta["format"], "png")
    data = _encode_image(im, fmt, spec.get("quality", 85))
    details = {"width": im.width, "height": im.height, "format": fmt}
    if meta["frames"] > 1 and meta["format"] in ("GIF", "PNG", "WEBP"):
        details["note"] = f"first frame of {meta['frames']}"
    return [VariantOutput(data=data, mime_type=_IMAGE_MIME[fmt], details=details)]


# --- audio -----------------------------------------------------------------------------------


def _container_name(source: MediaInfo) -> str:
    try:
        return container_for(source)
    except MediaRejected as exc:
        raise VariantError(str(exc)) from None


def _mp3_rate(rate: int) -> int:
    """The nearest sample rate MP3 allows, preferring not to lose bandwidth."""
    for allowed in _MP3_RATES:
        if allowed >= rate:
            return allowed
    return _MP3_RATES[-1]


def _audio_variant(path, source: MediaInfo, spec: VariantSpec) -> list[VariantOutput]:
    fmt = spec.get("format")
    container_name = _container_name(source)
    try:
        inp = open_container(path, container_name)
    except av.error.FFmpegError as exc:
        raise VariantError("The audio could not be read.") from exc
    with inp:
        _, audio = pick_streams(inp)
        if audio is None:
            raise VariantError("This file has no audio track to convert.")
        in_cc = audio.codec_context
        in_rate = int(in_cc.sample_rate or 44100)
        in_channels = int(in_cc.layout.nb_channels) if in_cc.layout is not None else 2
        channels = spec.get("channels") or min(in_channels, 2)
        rate = spec.get("sample_rate") or in_rate
        if fmt == "mp3":
            rate = _mp3_rate(rate)
        layout = "mono" if channels == 1 else "stereo"

        buf = io.BytesIO()
        out = av.open(buf, "w", format=fmt)
        if fmt == "wav":
            stream = out.add_stream("pcm_s16le", rate=rate)
            sample_format = "s16"
        else:
            stream = out.add_stream("libmp3lame", rate=rate)
            stream.codec_context.bit_rate = spec.get("bitrate")
            sample_format = None
        cc = stream.codec_context
        cc.layout = layout
        if sample_format:
            cc.format = sample_format
        cc.open()
        # LAME takes exactly frame_size (1152) samples per frame; the resampler cuts to size.
        resampler = av.AudioResampler(
            format=cc.format.name, layout=layout, rate=rate, frame_size=cc.frame_size or None
        )
        written = 0

        def encode(frames) -> None:
            nonlocal written
            for frame in frames:
                frame.pts = written
                frame.time_base = Fraction(1, rate)
                written += frame.samples
                out.mux(stream.encode(frame))

        try:
            for frame in inp.decode(audio):
                frame.pts = None  # the resampler counts samples; gaps or odd timestamps don't matter
                encode(resampler.resample(frame))
            encode(resampler.resample(None))
            out.mux(stream.encode(None))  # flush the encoder's last frames
            out.close()  # writes the trailer (WAV sizes, MP3 Xing/LAME header with the exact length)
        except av.error.FFmpegError as exc:
            try:
                out.close()
            except av.error.FFmpegError:
                pass
            raise VariantError("The audio could not be converted.") from exc
    details = {
        "format": fmt,
        "duration_s": round(written / rate, 3),
        "sample_rate": rate,
        "channels": channels,
    }
    if fmt == "mp3":
        details["bit_rate"] = spec.get("bitrate")
    return [VariantOutput(data=buf.getvalue(), mime_type="audio/mpeg" if fmt == "mp3" else "audio/wav", details=details)]


# --- key frames --------------------------------------------------------------------------------


def _keyframes_variant(path, source: MediaInfo, spec: VariantSpec) -> list[VariantOutput]:
    count = spec.get("count")
    fmt = spec.get("format")
    max_edge = spec.get("max_edge")
    quality = spec.get("quality", 85)
    container_name = _container_name(source)
    outputs: list[VariantOutput] = []
    try:
        c = open_container(path, container_name)
    except av.error.FFmpegError as exc:
        raise VariantError("The video could not be read.") from exc
    with c:
        video, _ = pick_streams(c)
        if video is None:
            raise VariantError("This file has no video to take frames from.")
        video.codec_context.thread_type = "AUTO"
        duration = stream_duration(c, video) or source.duration_s or 0.0
        start = video.start_time or 0
        # Frames at the middle of N equal slices of the video: never the very first (often black)
        # or a point past the end.
        times = [duration * (i + 0.5) / count for i in range(count)] if duration > 0 else [0.0]
        last_pts = None
        for t in times:
            try:
                frame = _frame_at(c, video, t, start)
            except av.error.FFmpegError:
                frame = None
            if frame is None:
                continue
            if frame.pts is not None and frame.pts == last_pts:
                continue  # a short video: the same frame again adds nothing
            last_pts = frame.pts
            im = frame_to_image(frame, max_edge=max_edge)
            data = _encode_image(im, fmt, quality)
            time_s = round(float(frame.time) - float(start * video.time_base), 3) if frame.time is not None else round(t, 3)
            outputs.append(
                VariantOutput(
                    data=data,
                    mime_type=_IMAGE_MIME[fmt],
                    details={"time_s": time_s, "width": im.width, "height": im.height, "index": len(outputs)},
                )
            )
    if not outputs:
        raise VariantError("No frames could be decoded from this video.")
    return outputs


def _frame_at(c, video, t: float, start: int):
    """The frame shown at ``t`` seconds: seek to the key frame before it, decode forward to it.
    Past the end of the data, the last frame decoded."""
    c.seek(int(t / video.time_base) + start, stream=video, backward=True)
    wanted = t + float(start * video.time_base) - _half_frame(video)
    frame = None
    for packet in c.demux(video):
        for f in packet.decode():
            frame = f
            if f.time is None or f.time >= wanted:
                return frame
    return frame


def _half_frame(video) -> float:
    rate = video.average_rate or video.guessed_rate
    return 0.5 / float(rate) if rate else 0.02


# --- entry point -------------------------------------------------------------------------------

def _page_variant(path, source: MediaInfo, spec: VariantSpec) -> list[VariantOutput]:
    page = spec.get("page")
    if source.page_count and page > source.page_count:
        raise VariantError(f"This PDF has {source.page_count} page{'s' if source.page_count != 1 else ''}; there is no page {page}.")
    try:
        im = pdf_page(path, page - 1, spec.get("max_edge"))
    except MediaRejected as exc:
        raise VariantError(str(exc)) from exc
    buf = io.BytesIO()
    im.save(buf, "WEBP", quality=85, method=4)
    return [VariantOutput(data=buf.getvalue(), mime_type="image/webp",
                          details={"width": im.width, "height": im.height, "page": page})]


_ACCEPTS = {"image": ("image",), "audio": ("audio", "video"), "keyframes": ("video",), "page": ("pdf",)}


def make_variant(path, source: MediaInfo, spec: VariantSpec) -> list[VariantOutput]:
    """Make ``spec`` from the file at ``path``, which :func:`inspect_file` described as ``source``.

    One output for image and audio specs, up to ``count`` for key frames (fewer when the video
    is too short to have that many different frames).
    """
    if source.kind not in _ACCEPTS.get(spec.kind, ()):
        wanted = {"image": "an image", "audio": "audio or video", "keyframes": "a video", "page": "a PDF"}[spec.kind]
        raise VariantError(f"A {spec.kind} variant needs {wanted}, but this file is {source.kind}.")
    if spec.kind == "image":
        return _image_variant(path, source, spec)
    if spec.kind == "audio":
        return _audio_variant(path, source, spec)
    if spec.kind == "page":
        return _page_variant(path, source, spec)
    return _keyframes_variant(path, source, spec)
