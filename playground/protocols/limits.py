"""Documented sizes, dimensions, counts and pages, per protocol and model (docs/protocols.md §8.14, §9).

    lim = Limits(resolved)            # counts what the request will carry, before it is built
    ctx.part_checks = (..., lim.check_part)   # per media part (asked by _common.walk)
    lim.check_request(ctx, body)      # over the whole request, once it is built

Documented hard caps ([docs] or [SDK]) refuse; softer or second-hand figures ([2nd] only) warn, as
docs/protocols.md §9 says. Where a resized or re-encoded copy fixes a refused image, the refusal
offers it as a ``Fallback("variant", ...)`` whose spec is a canonical
``playground.uploads.variants.VariantSpec`` key (written here as text: uploads sits above
protocols), which runs apply automatically and the editor shows as a button.

The rules (sources in docs/protocols.md §3, §4 and §1; the table of them all is to go in §9 as "Sizes, dimensions, counts and pages"):

Every protocol, the configured model's own limits (``Target`` fields, from the catalog model or
its preset): image formats and long edge (refused, with a copy in a format it takes / scaled to
its edge), images per request (refused), media URLs when it takes media inline only (refused,
with the download-and-inline fallback).

Anthropic Messages: an image over 8000 px on a side is refused (copy at 8000 px); with more than
20 images in the request each image over 2000 px is refused (copy at 2000 px) [docs vision]; an
image over 5 MB of base64 is refused (a JPEG copy at the model's own largest size) [docs vision
for Bedrock and Google Cloud; 2nd for the direct API]; more images and documents than the model
takes (100 on 200k-context models, 600 on others) [docs vision; the count includes documents:
2nd, the API's 400 "too many images and documents: 104 + 1 > 100"]; more than 100 PDF pages in the
request [docs PDF support]; more than 32 MB of base64 in the request [docs API overview].

Gemini: more than 100 MB of inline base64 in the request is refused, over 20 MB warned (the cap
"varies by data type") [docs blog 2026-01-12]; an inline PDF over 50 MB is refused [docs file
input methods]; a PDF over 1000 pages is refused [docs document processing]; more than 9.5 hours
of audio in the prompt is refused [docs audio]; more than 10 videos or an hour of video is warned
(Vertex AI's tables, "approximately", bound by the context window).

OpenAI Chat and Responses: 500 images, 50 MB of image base64 per request and 20 MB per image come
from a mirror of OpenAI's vision guide only [2nd]; 100 PDF pages and 32 MB of files per request
from copies of its file-inputs guide [2nd]: warned (the presets' max_images of 500 refuses through
the model's own limit).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import anthropic_messages, gemini, openai_chat
from ._common import Ctx, Resolved, canonical_mime, part_name, payload_total
from .tokens import family_for
from .types import Fallback, MediaPart, Omitted

__all__ = ["Limits", "image_spec"]

MB = 1_000_000
MIB = 1024 * 1024

ANTHROPIC_MAX_EDGE = 8000  # px on a side, any request [docs vision]
ANTHROPIC_MANY_IMAGES = 20  # more than this many images in a request ...
ANTHROPIC_MANY_EDGE = 2000  # ... and each must be at most 2000×2000 px [docs vision]
ANTHROPIC_IMAGE_B64 = 5 * MIB  # base64 per image [docs vision (Bedrock, Google Cloud); 2nd direct API]
ANTHROPIC_REQUEST = 32 * MB  # request body [docs API overview]
ANTHROPIC_PDF_PAGES = 100  # per request, all PDFs together [docs PDF support]
ANTHROPIC_IMAGES_200K = 100  # images (and documents) per request on 200k-context models [docs vision]
ANTHROPIC_IMAGES_OTHER = 600  # ... on the other models [docs vision]
GEMINI_INLINE = 100 * MB  # inline base64 per request since 2026-01-12 [docs blog]
GEMINI_INLINE_SAFE = 20 * MB  # the earlier cap; "varying limits based on data types" [docs blog]
GEMINI_INLINE_PDF = 50 * MB  # one inline PDF [docs file input methods]
GEMINI_PDF_PAGES = 1000  # per PDF [docs document processing]
GEMINI_AUDIO_S = 9.5 * 3600  # audio per prompt [docs audio]
GEMINI_VIDEOS = 10  # videos per prompt [Vertex AI docs video understanding: not the Developer API's page]
GEMINI_VIDEO_S = 3600  # "approximately 1 hour" without audio, 45 min with [same]
OPENAI_IMAGES = 500  # per request [2nd]
OPENAI_IMAGE_B64 = 20 * MB  # per image [2nd]
OPENAI_IMAGES_B64 = 50 * MB  # image bytes per request [2nd]
OPENAI_PDF_PAGES = 100  # PDF pages per request, all files together [2nd: copies of the file-inputs guide]
OPENAI_PDF_BYTES = 32 * MB  # PDF content per request [2nd: same]

# The image formats each protocol takes (the dialects' own lists, docs/protocols.md §8.9).
_PROTOCOL_IMAGE_TYPES = {
    "chat": openai_chat.IMAGE_TYPES,
    "responses": openai_chat.IMAGE_TYPES,
    "messages": anthropic_messages.IMAGE_TYPES,
    "gemini": gemini.IMAGE_TYPES,
}
_FORMAT_MIMES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_FORMAT_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP"}


def image_spec(*, max_edge: int | None = None, format: str | None = None, quality: int = 85) -> str:
    """The canonical ``VariantSpec.image(...).key()`` text (uploads.variants): settings sorted by
    name, ``quality`` left out for PNG (it cannot change the output)."""
    params = {"max_edge": max_edge, "format": format, "quality": None if format == "png" else quality}
    return "image:" + ";".join(f"{k}={v}" for k, v in sorted(params.items()) if v is not None)


def keyframes_spec(*, count: int, max_edge: int | None = None) -> str:
    """The canonical ``VariantSpec.keyframes(count=..., max_edge=...).key()`` text (JPEG, quality 85)."""
    params = {"count": count, "max_edge": max_edge, "format": "jpeg", "quality": 85}
    return "keyframes:" + ";".join(f"{k}={v}" for k, v in sorted(params.items()) if v is not None)


def _mb(n: int | float) -> str:
    return f"{n / MB:.1f} MB"


def _who(ctx: Ctx) -> str:
    return ctx.target.label or ctx.target.model


def anthropic_image_cap(model: str) -> int:
    """Images per request for a Claude model when the configured model gives none: 600 for the
    models with a context window over 200k tokens (Opus and Sonnet 4.6 and later), 100 for the
    others (Haiku, older models) and for names we do not know: the lower cap is the safe one."""
    m = re.search(r"claude-(opus|sonnet)-(\d+)(?:[-.](\d{1,2}))?(?!\d)", model)
    if m and (int(m.group(2)), int(m.group(3) or 0)) >= (4, 6):
        return ANTHROPIC_IMAGES_OTHER
    return ANTHROPIC_IMAGES_200K


def _claude_native_edge(model: str) -> int:
    """The long edge Claude scales an image down to anyway (docs/protocols.md §6)."""
    return family_for("messages", model).image.max_edge


@dataclass(frozen=True)
class Counts:
    """What the request will carry once every fixable refusal is fixed: images (the key frames of
    a video sent as frames included), PDF documents, their known pages, audio seconds."""

    images: int = 0
    pdfs: int = 0
    pdf_pages: int = 0
    pdf_pages_unknown: int = 0
    audio_s: float = 0.0
    frames: dict = field(default_factory=dict)  # id() of each key-frame MediaPart -> how many its video has


def count(resolved: Resolved) -> Counts:
    images = pdfs = pages = unknown = 0
    audio_s = 0.0
    frames: dict[int, int] = {}
    for _mi, _role, parts in resolved.messages:
        for _pi, part in parts:
            if not isinstance(part, MediaPart):
                continue
            if part.as_frames:
                images += len(part.frames)
                frames.update((id(f), len(part.frames)) for f in part.frames)
            elif part.kind == "image":
                images += 1
            elif part.kind == "pdf":
                pdfs += 1
                if part.page_count is None:
                    unknown += 1
                else:
                    pages += part.page_count
            elif part.kind == "audio":
                audio_s += part.duration_s or 0.0
    return Counts(images, pdfs, pages, unknown, audio_s, frames)


@dataclass
class _Fix:
    """The reasons an image is refused and the copy that fixes them all."""

    reasons: list[str]
    max_edge: int | None = None
    format: str | None = None
    quality: int = 85

    def edge(self, cap: int) -> None:
        self.max_edge = cap if self.max_edge is None else min(self.max_edge, cap)


class Limits:
    """The limit checks of one rendering: built on the resolved prompt (so the per-part checks
    know how many images the whole request has), then asked per part and over the body."""

    def __init__(self, resolved: Resolved):
        self.counts = count(resolved)

    # --- per part ------------------------------------------------------------------------------

    def check_part(self, ctx: Ctx, part: MediaPart, mi: int | None, pi: int, role: str) -> Omitted | None:
        t = ctx.target
        if part.delivery == "url" and not t.accepts_urls:
            return ctx.refuse(
                mi,
                pi,
                part.kind,
                f"{_who(ctx)} is set up to take media inline only (its “Accepts media URLs” setting is off), "
                f"and {part_name(part)} is sent by URL with no stored copy to send instead. Add it again "
                "with “Fetch and store a copy”, or upload the file.",
                None,
                role,
            )
        if part.kind == "image":
            return self._image(ctx, part, mi, pi, role)
        if part.kind == "pdf" and t.protocol == "gemini":
            return self._gemini_pdf(ctx, part, mi, pi, role)
        return None

    def _image(self, ctx: Ctx, part: MediaPart, mi, pi, role) -> Omitted | None:
        t = ctx.target
        mime = canonical_mime(part.mime_type)
        fix = _Fix([])
        who = _who(ctx)
        if t.image_formats is not None and mime and mime not in {canonical_mime(f) for f in t.image_formats}:
            fmt = _pick_format(mime, {canonical_mime(f) for f in t.image_formats})
            names = ", ".join(sorted(f.split("/")[-1].upper() for f in t.image_formats)) or "no"
            fix.reasons.append(f"{who} is set up to take {names} images, not {mime}")
            fix.format = fmt
        long_edge = max(part.width or 0, part.height or 0)
        size = f"{part.width}×{part.height} px"
        if t.max_image_edge and long_edge > t.max_image_edge:
            fix.reasons.append(f"it is {size} and {who} is set up to take images up to {t.max_image_edge} px")
            fix.edge(t.max_image_edge)
        if t.protocol == "messages":
            self._anthropic_image(ctx, part, fix, long_edge, size)
        if not fix.reasons:
            return None
        if fix.format is None and mime and mime not in _PROTOCOL_IMAGE_TYPES[t.protocol]:
            fix.format = "jpeg" if mime in ("image/heic", "image/heif") else "png"  # as _common.image_fallback
        return ctx.refuse(mi, pi, "image", _sentence(part, fix.reasons), self._fallback(part, fix), role)

    def _anthropic_image(self, ctx: Ctx, part: MediaPart, fix: _Fix, long_edge: int, size: str) -> None:
        """docs/protocols.md §3 Limits: 8000 px, 2000 px past 20 images, 5 MB of base64."""
        n = self.counts.images
        if long_edge > ANTHROPIC_MAX_EDGE:
            fix.reasons.append(f"it is {size} and Anthropic rejects images over {ANTHROPIC_MAX_EDGE} px on a side")
            fix.edge(ANTHROPIC_MAX_EDGE)
        if n > ANTHROPIC_MANY_IMAGES and long_edge > ANTHROPIC_MANY_EDGE:
            fix.reasons.append(
                f"it is {size}, and with more than {ANTHROPIC_MANY_IMAGES} images in a request (this one has {n}) "
                f"Anthropic takes at most {ANTHROPIC_MANY_EDGE}×{ANTHROPIC_MANY_EDGE} px each"
            )
            fix.edge(ANTHROPIC_MANY_EDGE)
        if part.delivery == "inline" and part.payload is not None and part.payload.b64_size > ANTHROPIC_IMAGE_B64:
            native = _claude_native_edge(ctx.target.model)
            fix.reasons.append(
                f"its base64 is {_mb(part.payload.b64_size)} and Anthropic takes at most 5 MB of base64 per image"
            )
            if long_edge and long_edge <= native and canonical_mime(part.mime_type) == "image/jpeg":
                fix.quality = 70  # already small and a JPEG: a lower quality is what is left
            fix.format = fix.format if fix.format in ("jpeg", "webp") else "jpeg"
            fix.edge(native)

    def _fallback(self, part: MediaPart, fix: _Fix) -> Fallback:
        if id(part) in self.counts.frames:  # a key frame of a video: make the frames again, smaller
            return Fallback(
                "keyframes",
                f"Send the key frames again, scaled to at most {fix.max_edge} px" if fix.max_edge else "Send the key frames again",
                keyframes_spec(count=self.counts.frames[id(part)], max_edge=fix.max_edge),
            )
        bits = []
        if fix.format:
            bits.append(f"a {_FORMAT_NAMES.get(fix.format, fix.format.upper())} copy")
        if fix.max_edge:
            bits.append(f"{'scaled' if bits else 'a copy scaled'} to at most {fix.max_edge} px")
        label = "Send " + " ".join(bits)
        quality = fix.quality if fix.format != "png" else 85
        return Fallback("variant", label, image_spec(max_edge=fix.max_edge, format=fix.format, quality=quality))

    # --- Gemini PDFs -----------------------------------------------------------------------------

    def _gemini_pdf(self, ctx: Ctx, part: MediaPart, mi, pi, role) -> Omitted | None:
        """docs/protocols.md §4 Limits: 1000 pages per PDF; 50 MB per inline PDF."""
        if part.page_count is not None and part.page_count > GEMINI_PDF_PAGES:
            return ctx.refuse(
                mi,
                pi,
                "pdf",
                f"{_subject(part)} has {part.page_count} pages; Gemini reads PDFs of at most "
                f"{GEMINI_PDF_PAGES} pages. Split it, or send the pages you need.",
                role=role,
            )
        raw = part.size_bytes if part.size_bytes is not None else (part.payload.raw_size if part.payload else None)
        if part.delivery == "inline" and raw is not None and raw > GEMINI_INLINE_PDF:
            return ctx.refuse(
                mi,
                pi,
                "pdf",
                f"{_subject(part)} is {_mb(raw)}; Gemini takes inline PDFs of at most 50 MB. "
                "Split it, or upload it with Gemini's Files API and send its URI.",
                role=role,
            )
        return None

    # --- the whole request ---------------------------------------------------------------------

    def check_request(self, ctx: Ctx, body) -> None:
        """Over what the body carries: the media sent, and those refused with a fix (they go in
        once fixed). Optional parts left out for this target (``_common.walk``) are not counted."""
        total, _sizes = payload_total(body)
        t = ctx.target
        c = self.request_counts(ctx)
        if t.max_images is not None and c.images > t.max_images:
            ctx.refuse_setting(
                "images",
                f"{_who(ctx)} takes at most {t.max_images} image{'s' if t.max_images != 1 else ''} per request; "
                f"this one has {c.images}. Remove some, or split the prompt.",
            )
        if t.protocol == "messages":
            self._anthropic_request(ctx, total, c)
        elif t.protocol == "gemini":
            self._gemini_request(ctx, total, c)
        else:
            self._openai_request(ctx, c)

    @staticmethod
    def request_counts(ctx: Ctx) -> Counts:
        """Images, PDFs, known PDF pages and audio seconds of the built request: what went in
        (``ctx.sent``) plus the images and PDFs refused in a message (one refusal per item), which go
        in once their fallback is applied."""
        sent = [s.media for s in ctx.sent if s.media is not None]
        refused = [r.modality for r in ctx.refusals if r.message_index is not None]
        pdfs = [m for m in sent if m.kind == "pdf"]
        return Counts(
            images=sum(1 for m in sent if m.kind == "image") + refused.count("image"),
            pdfs=len(pdfs) + refused.count("pdf"),
            pdf_pages=sum(m.page_count or 0 for m in pdfs),
            pdf_pages_unknown=sum(1 for m in pdfs if m.page_count is None),
            audio_s=sum(m.duration_s or 0.0 for m in sent if m.kind == "audio"),
        )

    def _anthropic_request(self, ctx: Ctx, total: int, c: Counts) -> None:
        """docs/protocols.md §3 Limits: 32 MB, images and documents per request, 100 PDF pages."""
        t = ctx.target
        if total > ANTHROPIC_REQUEST:
            ctx.refuse_setting(
                "request size",
                f"The media add up to {_mb(total)} of base64; Anthropic takes at most 32 MB per request (413). "
                "Send fewer or smaller files.",
            )
        if t.max_images is None:
            cap = anthropic_image_cap(t.model)
            if c.images + c.pdfs > cap:
                docs = f" and {c.pdfs} PDF{'s' if c.pdfs != 1 else ''}" if c.pdfs else ""
                ctx.refuse_setting(
                    "images",
                    f"This request has {c.images} image{'s' if c.images != 1 else ''}{docs}; Anthropic takes at most "
                    f"{cap} images and documents per request on {t.model}"
                    f"{' (a 200k-context model, or one Prism does not know)' if cap == ANTHROPIC_IMAGES_200K else ''}. "
                    "Remove some, or split the prompt.",
                )
        if c.pdf_pages > ANTHROPIC_PDF_PAGES:
            ctx.refuse_setting(
                "PDF pages",
                f"The PDFs add up to {c.pdf_pages} pages; Anthropic takes at most {ANTHROPIC_PDF_PAGES} PDF pages per "
                "request. Split the document, or send the pages you need.",
            )
        elif c.pdf_pages_unknown:
            ctx.note(
                "PDF pages",
                f"{c.pdf_pages_unknown} PDF(s) of unknown page count: Anthropic takes at most {ANTHROPIC_PDF_PAGES} "
                "PDF pages per request.",
            )

    def _gemini_request(self, ctx: Ctx, total: int, c: Counts) -> None:
        """docs/protocols.md §4 Limits: 100 MB inline (20 MB the safe figure), 9.5 hours of audio."""
        if total > GEMINI_INLINE:
            ctx.refuse_setting(
                "request size",
                f"{_mb(total)} of inline data; Gemini takes at most 100 MB of inline (base64) data per request. "
                "Send fewer or smaller files, or upload the large ones with Gemini's Files API.",
            )
        elif total > GEMINI_INLINE_SAFE:
            ctx.note(
                "request size",
                f"{_mb(total)} of inline data: over Gemini's long-standing 20 MB cap. 100 MB is allowed since "
                "2026-01, with limits that vary by data type, so a large file of one type may still be rejected.",
                "warning",
            )
        videos = [s.media for s in ctx.sent if s.media is not None and s.media.kind == "video"]
        video_s = sum(v.duration_s or 0.0 for v in videos)
        if len(videos) > GEMINI_VIDEOS or video_s > GEMINI_VIDEO_S:
            ctx.note(
                "video length",
                f"{len(videos)} video(s), {video_s / 60:.0f} minutes in all: Google's Vertex AI tables give Gemini "
                f"at most {GEMINI_VIDEOS} videos per prompt and about an hour of video (45 minutes with sound) at "
                "the default resolution; a longer prompt may not fit the context window.",
                "warning",
            )
        if c.audio_s > GEMINI_AUDIO_S:
            ctx.refuse_setting(
                "audio length",
                f"The audio adds up to {c.audio_s / 3600:.1f} hours; Gemini takes at most 9.5 hours of audio per "
                "prompt. Shorten or split it.",
            )

    def _openai_request(self, ctx: Ctx, c: Counts) -> None:
        """docs/protocols.md §1 Formats and limits: second-hand figures, so warnings."""
        image_sizes = [
            s.media.payload.b64_size
            for s in ctx.sent
            if s.media is not None and s.media.kind == "image" and s.media.delivery == "inline" and s.media.payload
        ]
        big = sum(1 for s in image_sizes if s > OPENAI_IMAGE_B64)
        if big:
            ctx.note(
                "request size",
                f"{big} image(s) over 20 MB of base64: OpenAI's vision guide is reported to cap an image at 20 MB.",
                "warning",
            )
        if sum(image_sizes) > OPENAI_IMAGES_B64:
            ctx.note(
                "request size",
                f"{_mb(sum(image_sizes))} of images: over the 50 MB of images per request OpenAI is reported to take.",
                "warning",
            )
        pdf_bytes = sum(
            (s.media.size_bytes if s.media.size_bytes is not None else s.media.payload.raw_size)
            for s in ctx.sent
            if s.media is not None and s.media.kind == "pdf" and s.media.delivery == "inline" and s.media.payload
        )
        if c.pdf_pages > OPENAI_PDF_PAGES or pdf_bytes > OPENAI_PDF_BYTES:
            ctx.note(
                "PDF pages",
                f"The PDFs add up to {c.pdf_pages} pages and {_mb(pdf_bytes)}: OpenAI's file-inputs guide is quoted "
                f"as taking up to {OPENAI_PDF_PAGES} pages and 32 MB of files in a single request.",
                "warning",
            )
        if ctx.target.max_images is None and c.images > OPENAI_IMAGES:
            ctx.note(
                "images",
                f"{c.images} images: over the {OPENAI_IMAGES} images per request OpenAI is reported to take.",
                "warning",
            )


def _pick_format(mime: str, allowed: set[str]) -> str:
    """A format the model takes: JPEG for photos (JPEG, HEIC), PNG otherwise, then whichever it lists."""
    wanted = "jpeg" if mime in ("image/jpeg", "image/heic", "image/heif") else "png"
    for fmt in (wanted, "png", "jpeg", "webp"):
        if _FORMAT_MIMES[fmt] in allowed:
            return fmt
    return wanted


def _subject(part: MediaPart) -> str:
    return f"“{part.name}”" if part.name else f"This {part.kind}"


def _sentence(part: MediaPart, reasons: Iterable[str]) -> str:
    head = f"Image {part_name(part)}" if part.name else "This image"
    return f"{head}: " + "; ".join(reasons) + "."

