"""Draw pictures of media that identify.py has checked: thumbnails (a shrunk image, a video's
poster frame, an audio waveform, a PDF's first page), and the image preparation variants.py
shares (first frame, EXIF orientation, sRGB, shrinking).

No Django here, like identify.py. These functions trust that :func:`identify.inspect_file`
passed the file; they still raise :class:`MediaRejected` when a picture cannot be drawn.
"""

from __future__ import annotations

import io

import av
import av.error
import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFile

from .identify import (
    PDFIUM_LOCK,
    MediaInfo,
    MediaRejected,
    container_for,
    damaged_image_reason,
    exif_orientation,
    first_frame,
    image_format,
    open_container,
    open_image,
    pick_streams,
    stream_duration,
)

__all__ = ["THUMBNAIL_MIME", "audio_peaks", "frame_to_image", "make_thumbnail", "pdf_page", "prepare_image", "to_rgb"]

THUMBNAIL_MIME = "image/webp"


# --- preparing images (shared with variants) ----------------------------------------------------

# What turns a picture with EXIF orientation 2-8 upright (1 is upright already).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SRGB_PROFILE = None


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert from an embedded colour profile (Display P3, CMYK...) to sRGB; best effort."""
    global _SRGB_PROFILE
    if not icc:
        return im
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower().replace(" ", ""):
            return im
        if _SRGB_PROFILE is None:
            _SRGB_PROFILE = ImageCms.createProfile("sRGB")
        if im.mode not in ("RGB", "RGBA", "CMYK", "L"):
            return im
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        alpha = im.getchannel("A") if im.mode == "RGBA" else None
        src = im.convert("RGB") if im.mode == "RGBA" else im
        converted = ImageCms.profileToProfile(src, source, _SRGB_PROFILE, outputMode="RGB")
        if alpha is not None:
            converted.putalpha(alpha)
        return converted if converted.mode == out_mode else converted.convert(out_mode)
    except Exception:
        return im


def to_rgb(im: Image.Image, *, keep_alpha: bool = True) -> Image.Image:
    """RGB, or RGBA when the picture has transparency and ``keep_alpha``; without alpha, any
    transparency is composited on white."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif im.mode == "F":
        im = im.convert("L")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (im.mode in ("P", "L", "RGB") and "transparency" in im.info)
    if has_alpha:
        im = im.convert("RGBA")
        if keep_alpha:
            return im
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im, mask=im.getchannel("A"))
        return background
    return im if im.mode == "RGB" else im.convert("RGB")


def prepare_image(
    path, pil_format: str | None = None, *, max_edge: int | None = None, max_image_pixels: int | None = None
) -> tuple[Image.Image, dict]:
    """Open the image at ``path`` (type sniffed from its bytes), take its first frame, shrink it
    so its longest side is at most ``max_edge`` (never enlarging; JPEG decodes straight at a
    reduced scale), apply EXIF orientation, and convert embedded colour profiles to sRGB.

    Returns (image in RGB/RGBA/L/P/..., details with "frames" and the source size).
    """
    with open(path, "rb") as fp:
        pil_format = image_format(fp)
        im = open_image(fp, pil_format, max_image_pixels=max_image_pixels or (1 << 62))
        frames = int(getattr(im, "n_frames", 1) or 1)
        orientation = exif_orientation(im)
        icc = im.info.get("icc_profile")
        source_size = im.size
        try:
            if frames > 1:
                im.seek(0)
            if max_edge and max(im.size) > max_edge:
                target = _fit(im.size, max_edge)
                if pil_format == "JPEG":
                    # libjpeg decodes straight at 1/2, 1/4 or 1/8 scale: ask for the smallest
                    # that is still at least the target size, then finish with Lanczos.
                    im.draft(None, target)
                im = im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
            else:
                im.load()
        except MemoryError:
            raise
        except Exception as exc:
            raise MediaRejected(damaged_image_reason(pil_format)) from exc
        im = im.copy() if isinstance(im, ImageFile.ImageFile) else im  # detach from the file
    if orientation != 1:
        im = im.transpose(_UPRIGHT[orientation])
    if icc:
        im = _to_srgb(im, icc)
    return im, {"frames": frames, "source_width": source_size[0], "source_height": source_size[1], "format": pil_format}


def _encode_thumbnail(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    to_rgb(im).save(buf, "WEBP", quality=80, method=4)
    return buf.getvalue()


def _fit(size: tuple[int, int], max_edge: int) -> tuple[int, int]:
    w, h = size
    scale = min(1.0, max_edge / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _video_poster(path, info: MediaInfo, max_edge: int) -> Image.Image:
    container_name = container_for(info)
    frame = None
    with open_container(path, container_name) as c:
        video, _ = pick_streams(c)
        if video is None:
            raise MediaRejected("The video has no picture to show.")
        video.codec_context.thread_type = "AUTO"
        duration = stream_duration(c, video) or info.duration_s
        if duration and duration > 0.5:
            try:
                c.seek(int(duration * 0.1 / video.time_base) + (video.start_time or 0), stream=video, backward=True)
                frame = first_frame(c, video, max_packets=500)
            except av.error.FFmpegError:
                frame = None
    if frame is None:  # start again and take the first frame that decodes
        with open_container(path, container_name) as c:
            video, _ = pick_streams(c)
            try:
                frame = first_frame(c, video)
            except av.error.FFmpegError as exc:
                raise MediaRejected("The video could not be decoded.") from exc
    if frame is None:
        raise MediaRejected("The video could not be decoded.")
    return frame_to_image(frame, max_edge=max_edge)


def frame_to_image(frame, *, max_edge: int | None = None) -> Image.Image:
    """A decoded video frame as an upright RGB picture, at most ``max_edge`` on its longest side
    (scaled by FFmpeg to about 2× the target, then Lanczos in Pillow)."""
    w, h = frame.width, frame.height
    if max_edge and max(w, h) > 2 * max_edge:
        sw, sh = _fit((w, h), 2 * max_edge)
        im = frame.to_image(width=sw, height=sh)
    else:
        im = frame.to_image()
    rotation = int(round((frame.rotation or 0) / 90.0)) * 90 % 360
    if rotation:
        im = im.rotate(rotation, expand=True)  # PIL and PyAV both count counterclockwise
    if max_edge and max(im.size) > max_edge:
        im = im.resize(_fit(im.size, max_edge), Image.Resampling.LANCZOS)
    return im


def _pdf_first_page(path, max_edge: int) -> Image.Image:
    return pdf_page(path, 0, max_edge)


def pdf_page(path, index: int, max_edge: int) -> Image.Image:
    """Page ``index`` (0-based) of the PDF at ``path``, drawn on white, longest side ``max_edge``.
    Callers run it in the sandbox: a page's content can expand enormously when drawn."""
    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(str(path))
        try:
            if not 0 <= index < len(pdf):
                raise MediaRejected(f"This PDF has {len(pdf)} pages; there is no page {index + 1}.")
            page = pdf[index]
            w, h = page.get_size()
            scale = max_edge / max(w, h, 1.0)
            bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255))
            im = bitmap.to_pil().convert("RGB")
            page.close()
        finally:
            pdf.close()
    return im


# Waveform look: bars with rounded ends in an indigo→violet gradient on a transparent ground.
_WAVE_LEFT = (79, 70, 229)  # indigo-600
_WAVE_RIGHT = (192, 38, 211)  # fuchsia-600
_PEAK_RATE = 8000  # audio is resampled to mono at this rate to measure peaks
_PEAK_BLOCK = 200  # samples per peak block (25 ms at 8 kHz)


def audio_peaks(path, container_name: str, *, columns: int) -> list[float]:
    """Peak loudness (0..1 of full scale) in each of ``columns`` equal slices of the first audio
    stream. Decodes everything once, resampled by FFmpeg to 8 kHz mono 16-bit."""
    from array import array

    blocks: list[int] = []
    pending = array("h")
    with open_container(path, container_name) as c:
        _, audio = pick_streams(c)
        if audio is None:
            raise MediaRejected("There is no audio to draw.")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=_PEAK_RATE)

        def take(frames) -> None:
            for f in frames:
                pending.frombytes(bytes(f.planes[0])[: f.samples * 2])
            while len(pending) >= _PEAK_BLOCK:
                chunk = pending[:_PEAK_BLOCK]
                blocks.append(max(max(chunk), -min(chunk)))
                del pending[:_PEAK_BLOCK]

        try:
            for frame in c.decode(audio):
                frame.pts = None  # let the resampler count samples; odd timestamps must not matter
                take(resampler.resample(frame))
        except av.error.FFmpegError:
            pass  # draw what decoded (inspect_file has already vouched for the file)
        take(resampler.resample(None))
    if len(pending):
        blocks.append(max(max(pending), -min(pending)))
    if not blocks:
        return [0.0] * columns
    peaks = []
    n = len(blocks)
    for i in range(columns):
        lo = i * n // columns
        hi = max(lo + 1, (i + 1) * n // columns)
        peaks.append(max(blocks[lo:hi]) / 32768 if lo < n else 0.0)
    return peaks


def _waveform(path, info: MediaInfo, max_edge: int) -> Image.Image:
    width = max_edge
    height = max(16, max_edge * 3 // 8)
    ss = 2  # draw at twice the size and shrink: smooth edges
    pitch = 3  # px per bar at output size: 2 px bar, 1 px gap
    columns = max(1, width // pitch)
    peaks = audio_peaks(path, container_for(info), columns=columns)
    top = max(peaks) or 1.0
    canvas = Image.new("RGBA", (width * ss, height * ss), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    mid = height * ss / 2
    half = (height * ss) / 2 - 2 * ss
    bar = (pitch - 1) * ss
    offset = (width - columns * pitch) * ss / 2
    for i, p in enumerate(peaks):
        level = (p / top) ** 0.8 if top > 0 else 0.0
        h = max(ss * 1.0, level * half)
        t = i / max(columns - 1, 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(_WAVE_LEFT, _WAVE_RIGHT, strict=True)) + (255,)
        x0 = offset + i * pitch * ss
        draw.rounded_rectangle((x0, mid - h, x0 + bar - 1, mid + h), radius=bar / 2, fill=colour)
    return canvas.resize((width, height), Image.Resampling.LANCZOS)


def make_thumbnail(path, info: MediaInfo, *, max_edge: int = 320) -> bytes:
    """A small picture of the file, as WebP bytes (:data:`THUMBNAIL_MIME`), longest side ≤ max_edge.

    Image: shrunk and upright. Video: a frame about 10% in (or the first). Audio: its waveform.
    PDF: the first page. ``info`` is what :func:`inspect_file` returned for this file.
    """
    if info.kind == "image":
        im, _ = prepare_image(path, max_edge=max_edge)
    elif info.kind == "video":
        im = _video_poster(path, info, max_edge)
    elif info.kind == "audio":
        im = _waveform(path, info, max_edge)
    elif info.kind == "pdf":
        im = _pdf_first_page(path, max_edge)
    else:
        raise ValueError(f"unknown kind {info.kind!r}")
    if max(im.size) > max_edge:
        im = im.resize(_fit(im.size, max_edge), Image.Resampling.LANCZOS)
    return _encode_thumbnail(im)
