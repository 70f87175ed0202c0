"""Input-token ESTIMATES for a rendered request, before sending (docs/protocols.md §6).

Every figure here is an estimate for the preview; bill from the provider's ``usage``.

- Text, OpenAI targets: the real tokenizer (o200k_base, or cl100k_base for gpt-4/gpt-3.5) from the
  ``bpe-openai`` package, which ships the BPE tables inside the wheel, so nothing is downloaded
  (``tiktoken`` fetches them from the internet on first use). Plus the cookbook's chat framing:
  3 tokens per message and 3 to prime the reply. Without the package: ~4 characters per token.
- Text, Anthropic and Gemini: ~4 characters per token (neither tokenizer is published; both
  providers give that rule of thumb, and both have a count-tokens endpoint for exact numbers).
- Images: OpenAI tile formula (GPT-4o family; detail low = 85, high/auto = 170 per 512-px tile +
  85, auto counted as high) or patch formula (gpt-4.1-mini/nano); Anthropic ⌈w/28⌉×⌈h/28⌉ after
  downscaling to the 1568 px / 1568-token caps (2576 / 4784 for Opus 4.7+); Gemini 258 for an
  image within 384×384, else 258 per 768-px tile (Gemini 3: 1120 per image, unverified).
- Audio: Gemini 32 tokens/s. OpenAI: not documented in our reference, so unknown.
- Video: Gemini 263 tokens/s. Key frames count as images.
- PDFs: Gemini 258 per page (Gemini 3: 560). OpenAI and Anthropic: one page image each (a
  1700×2200 px page through the image formula) plus the extracted text, which is unknown until
  the provider extracts it, so listed under ``unknown``.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

from ._common import where
from .types import MediaPart, RenderedRequest, Sent

__all__ = ["TokenEstimate", "PartTokens", "estimate_tokens", "openai_image_tokens", "anthropic_image_tokens", "gemini_image_tokens", "count_text"]

PAGE_W, PAGE_H = 1700, 2200  # a letter page rendered at 200 dpi


@dataclass(frozen=True)
class PartTokens:
    where: str
    kind: str  # text | image | audio | video | pdf
    tokens: int | None  # None: unknown
    method: str


@dataclass(frozen=True)
class TokenEstimate:
    """An ESTIMATE of input tokens, by kind. ``unknown`` lists what could not be estimated (it
    is not in the total)."""

    protocol: str
    text: int
    image: int
    audio: int
    video: int
    pdf: int
    total: int
    parts: tuple[PartTokens, ...]
    unknown: tuple[str, ...]
    text_method: str
    is_estimate: bool = True
    label: str = "estimate"


# --- text -----------------------------------------------------------------------------------------


def _openai_encoding_name(model: str) -> str:
    m = model.lower().rsplit("/", 1)[-1]
    if re.match(r"(gpt-4(?![o.])|gpt-3\.5|gpt-35)", m):
        return "cl100k_base"
    return "o200k_base"  # gpt-4o, gpt-4.1, gpt-5, o-series and unknown models


@lru_cache(maxsize=4)
def _encoding(name: str):
    # bpe-openai 0.1.4 reads its tables (at import) with a deprecated importlib call.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import bpe_openai
        except ImportError:
            return None
        return bpe_openai.get_encoding(name)


def count_text(text: str, protocol: str, model: str = "") -> tuple[int, str]:
    """(tokens, method) for one text."""
    if protocol in ("chat", "responses"):
        name = _openai_encoding_name(model)
        enc = _encoding(name)
        if enc is not None:
            return len(enc.encode(text, disallowed_special=())), f"{name} tokenizer"
    return math.ceil(len(text) / 4), "~4 characters per token"


# --- images ---------------------------------------------------------------------------------------

_PATCH_MULTIPLIERS = {"gpt-4.1-mini": 1.62, "gpt-4.1-nano": 2.46}  # docs/protocols.md §6, documented values


def _patch_model(model: str) -> float | None:
    m = model.lower().rsplit("/", 1)[-1]
    for name, mult in _PATCH_MULTIPLIERS.items():
        if m.startswith(name):
            return mult
    return None


def openai_image_tokens(width: int, height: int, detail: str | None, model: str = "") -> tuple[int, str]:
    mult = _patch_model(model)
    if mult is not None:
        patches = math.ceil(width / 32) * math.ceil(height / 32)
        if patches > 1536:
            r = math.sqrt(32 * 32 * 1536 / (width * height))
            r *= min(math.floor(width * r / 32) / (width * r / 32), math.floor(height * r / 32) / (height * r / 32))
            patches = min(math.ceil(width * r / 32) * math.ceil(height * r / 32), 1536)
        return math.ceil(patches * mult), f"patch formula ×{mult}"
    if detail == "low":
        return 85, "detail low: flat 85"
    w, h = float(width), float(height)
    if max(w, h) > 2048:
        s = 2048 / max(w, h)
        w, h = w * s, h * s
    if min(w, h) > 768:
        s = 768 / min(w, h)
        w, h = w * s, h * s
    tiles = math.ceil(w / 512) * math.ceil(h / 512)
    how = "tile formula" + (" (auto counted as high)" if detail in (None, "auto") else "")
    return 170 * tiles + 85, how


def _anthropic_high_res(model: str) -> bool:
    m = re.search(r"claude-opus-(\d+)(?:[-.](\d{1,2}))?(?!\d)", model)
    return bool(m) and (int(m.group(1)), int(m.group(2) or 0)) >= (4, 7)


def anthropic_image_tokens(width: int, height: int, model: str = "") -> tuple[int, str]:
    edge_cap, token_cap = (2576, 4784) if _anthropic_high_res(model) else (1568, 1568)

    def tokens(long_side: int) -> int:
        short_side = max(1, round(long_side * short / long))
        return math.ceil(long_side / 28) * math.ceil(short_side / 28)

    long, short = max(width, height), min(width, height)
    lo, hi = 1, min(long, edge_cap)
    if tokens(hi) > token_cap:  # largest long side whose tokens fit the cap (tokens grow with it)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if tokens(mid) <= token_cap else (lo, mid - 1)
        hi = lo
    return tokens(hi), f"⌈w/28⌉×⌈h/28⌉ after the {edge_cap} px / {token_cap}-token caps"


def gemini_image_tokens(width: int, height: int, model: str = "") -> tuple[int, str]:
    if model.lower().rsplit("/", 1)[-1].startswith("gemini-3"):
        return 1120, "Gemini 3 default (high) per image, unverified"
    if width <= 384 and height <= 384:
        return 258, "258 per small image"
    return 258 * math.ceil(width / 768) * math.ceil(height / 768), "258 per 768-px tile"


def _image(protocol: str, m: MediaPart, model: str) -> tuple[int | None, str]:
    if not (m.width and m.height):
        return None, "image size unknown"
    if protocol in ("chat", "responses"):
        return openai_image_tokens(m.width, m.height, m.detail, model)
    if protocol == "messages":
        return anthropic_image_tokens(m.width, m.height, model)
    return gemini_image_tokens(m.width, m.height, model)


def _media(protocol: str, m: MediaPart, model: str) -> tuple[int | None, str, str | None]:
    """(tokens, method, unknown remark)."""
    if m.kind == "image":
        n, how = _image(protocol, m, model)
        return n, how, None if n is not None else "image size unknown"
    gemini3 = model.lower().rsplit("/", 1)[-1].startswith("gemini-3")
    if m.kind == "audio":
        if protocol == "gemini" and m.duration_s is not None:
            return math.ceil(m.duration_s * 32), "32 tokens/s", None
        return None, "not documented", "audio cost not documented for this protocol" if protocol != "gemini" else "duration unknown"
    if m.kind == "video":
        if protocol == "gemini" and m.duration_s is not None:
            return math.ceil(m.duration_s * 263), "263 tokens/s", None
        return None, "not documented", "video cost unknown"
    # pdf
    if not m.page_count:
        return None, "page count unknown", "PDF page count unknown"
    if protocol == "gemini":
        per = 560 if gemini3 else 258
        return per * m.page_count, f"{per} per page", None
    if protocol == "messages":
        per, _ = anthropic_image_tokens(PAGE_W, PAGE_H, model)
    else:
        per, _ = openai_image_tokens(PAGE_W, PAGE_H, "high", model)
    return per * m.page_count, f"{per} per page image", "PDF extracted text not counted"


def estimate_tokens(rendered: RenderedRequest) -> TokenEstimate:
    """Estimate the input tokens of what ``rendered`` sends (refused parts are not counted)."""
    protocol = rendered.protocol
    model = rendered.target.model
    sums = {"text": 0, "image": 0, "audio": 0, "video": 0, "pdf": 0}
    parts: list[PartTokens] = []
    unknown: list[str] = []
    text_method = ""
    item: Sent
    for item in rendered.sent:
        w = "system" if item.role == "system" and item.message_index is None else where(item.message_index, item.part_index, item.role)
        if item.text is not None:
            n, text_method = count_text(item.text, protocol, model)
            sums["text"] += n
            parts.append(PartTokens(w, "text", n, text_method))
            continue
        m = item.media
        n, how, remark = _media(protocol, m, model)
        parts.append(PartTokens(w, m.kind, n, how))
        if n is not None:
            sums[m.kind] += n
        if remark:
            unknown.append(f"{w}: {remark}")
    if protocol in ("chat", "responses"):
        turns = len(rendered.body.get("messages") or rendered.body.get("input") or []) + ("instructions" in rendered.body)
        framing = 3 * turns + 3
        sums["text"] += framing
        parts.append(PartTokens("framing", "text", framing, "3 per message + 3 (OpenAI cookbook)"))
    if not text_method:
        text_method = count_text("", protocol, model)[1]
    return TokenEstimate(
        protocol=protocol,
        total=sum(sums.values()),
        parts=tuple(parts),
        unknown=tuple(unknown),
        text_method=text_method,
        **sums,
    )
