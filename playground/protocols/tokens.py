"""Input-token ESTIMATES for a rendered request, before sending (docs/protocols.md §6).

Every figure here is an estimate for the preview; bill from the provider's ``usage``.

The media formulas are tables, one per protocol: ``FAMILIES[protocol]`` is a tuple of
:class:`Family` (a model-name pattern, the image formula with its constants, the audio, video and
PDF rates, and the ``source`` of each figure). The first family whose pattern matches the model
wins; the last one of each table is the explicit fallback (``fallback=True``) for a model the
table does not know, and its estimates say so. ``family_for(protocol, model)`` looks one up, and
every estimate's ``method`` names the family and the formula ("gpt-4o-mini tiles: 2833 + 5667 per
tile × 4"). The Chat table also holds the families a gateway (OpenRouter, a local server) reaches
through the Chat shape: Claude, Gemini, Gemma, Qwen2.5-VL and Llama 3.2 Vision models bill by
their own formulas, whatever the protocol carrying them.

Text: the real tokenizer for OpenAI models (o200k_base, or cl100k_base for gpt-4/gpt-3.5) from the
``bpe-openai`` package, which ships the BPE tables inside the wheel, so nothing is downloaded
(``tiktoken`` fetches them from the internet on first use), plus the cookbook's chat framing: 3
tokens per message and 3 to prime the reply. Every other model, and OpenAI without the package:
~4 characters per token (Google and Anthropic give that rule of thumb; neither tokenizer is
published, and both have a count-tokens endpoint for exact numbers).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

from ._common import where
from .types import MediaPart, RenderedRequest, Sent

__all__ = [
    "FAMILIES",
    "Family",
    "PartTokens",
    "TokenEstimate",
    "anthropic_image_tokens",
    "count_text",
    "estimate_tokens",
    "family_for",
    "gemini_image_tokens",
    "markdown_table",
    "openai_image_tokens",
    "patch_count",
]

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
    is not in the total). ``family``: the model family whose formulas were used (its name ends in
    "(not recognised)" when the model fell to the table's fallback)."""

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
    family: str = ""


# --- image formulas ---------------------------------------------------------------------------------
#
# Each formula is a small frozen dataclass holding its constants, with ``tokens(width, height,
# detail) -> (tokens, how)`` and ``describe()`` (the formula in words, for the docs table).


def _fit(w: float, h: float, box: float) -> tuple[float, float]:
    """Scale down (never up), keeping the aspect ratio, so the long side is at most ``box``."""
    s = box / max(w, h)
    return (w * s, h * s) if s < 1 else (w, h)


@dataclass(frozen=True)
class Tiles:
    """OpenAI's tile system: ``detail: "low"`` costs ``base``; otherwise fit in 2048×2048, scale the
    short side down to 768, and count 512-px tiles: ``base + tile × tiles``."""

    base: int
    tile: int

    def describe(self) -> str:
        return f"{self.base} + {self.tile} per 512-px tile (fit 2048 px, short side 768 px); detail low: {self.base}"

    def tokens(self, width: int, height: int, detail: str | None) -> tuple[int, str]:
        if detail == "low":
            return self.base, f"detail low: {self.base}"
        w, h = _fit(float(width), float(height), 2048)
        if min(w, h) > 768:
            s = 768 / min(w, h)
            w, h = w * s, h * s
        n = math.ceil(round(w, 6) / 512) * math.ceil(round(h, 6) / 512)
        auto = " (auto counted as high)" if detail in (None, "auto") else ""
        return self.base + self.tile * n, f"{self.base} + {self.tile} per tile × {n}{auto}"


@dataclass(frozen=True)
class Patches:
    """OpenAI's patch system: fit the image within ``max_edge`` px and ``budget`` 32-px patches
    (the smaller of the two), count the patches, multiply by ``multiplier``. Models with
    ``original_budget`` take ``detail: "original"`` (and ``auto`` means ``auto_means``)."""

    multiplier: float
    budget: int = 1536
    max_edge: int = 2048
    original_budget: int | None = None
    original_edge: int | None = None
    auto_means: str = "high"

    def describe(self) -> str:
        text = f"⌈w/32⌉×⌈h/32⌉ patches within {self.budget} patches and {self.max_edge} px, × {self.multiplier}"
        if self.original_budget:
            text += (f"; detail original: {self.original_budget} patches and {self.original_edge} px; "
                     f"auto = {self.auto_means}")
        return text + "; detail low billed as high"

    def tokens(self, width: int, height: int, detail: str | None) -> tuple[int, str]:
        level = self.auto_means if detail in (None, "auto") else detail
        budget, edge = self.budget, self.max_edge
        if level == "original" and self.original_budget:
            budget, edge = self.original_budget, self.original_edge or edge
        else:
            level = "high"  # low is billed as high on patch models; original only where documented
        n = patch_count(width, height, budget, edge)
        note = " (detail low billed as high)" if detail == "low" else ""
        return math.ceil(n * self.multiplier), f"{n} patches × {self.multiplier} ({level}, budget {budget}){note}"


def patch_count(width: int, height: int, budget: int = 1536, max_edge: int = 2048) -> int:
    """The 32-px patches an image is billed for after OpenAI's resizing (docs/protocols.md §6):
    fit the long side within ``max_edge``; if more than ``budget`` patches would still cover it,
    shrink by sqrt(32²·budget/(w·h)), adjusted so whole patches fit; then whole pixels, then
    ⌈w/32⌉×⌈h/32⌉, at most ``budget``."""
    w, h = _fit(float(width), float(height), max_edge)
    if math.ceil(round(w) / 32) * math.ceil(round(h) / 32) > budget:
        r = math.sqrt(32 * 32 * budget / (w * h))
        r *= min(math.floor(w * r / 32) / (w * r / 32), math.floor(h * r / 32) / (h * r / 32))
        w, h = w * r, h * r
    rw, rh = max(1, round(w)), max(1, round(h))
    return min(math.ceil(rw / 32) * math.ceil(rh / 32), budget)


@dataclass(frozen=True)
class ClaudePatches:
    """Anthropic: ⌈w/28⌉×⌈h/28⌉ after scaling down (aspect kept) to fit both ``max_edge`` px on the
    long side and ``max_tokens``."""

    max_edge: int
    max_tokens: int

    def describe(self) -> str:
        return f"⌈w/28⌉×⌈h/28⌉ after scaling down to {self.max_edge} px and {self.max_tokens} tokens (≈ w·h/750)"

    def tokens(self, width: int, height: int, detail: str | None = None) -> tuple[int, str]:
        long, short = max(width, height), min(width, height)

        def count(long_side: int) -> int:
            short_side = max(1, round(long_side * short / long))
            return math.ceil(long_side / 28) * math.ceil(short_side / 28)

        lo, hi = 1, min(long, self.max_edge)
        if count(hi) > self.max_tokens:  # the largest long side whose tokens fit the cap (tokens grow with it)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if count(mid) <= self.max_tokens else (lo, mid - 1)
            hi = lo
        return count(hi), f"⌈w/28⌉×⌈h/28⌉ after the {self.max_edge} px / {self.max_tokens}-token caps"


@dataclass(frozen=True)
class GeminiTiles:
    """Gemini 1.5 and 2.x: both sides ≤ 384 px cost ``per_tile``; a larger image is cut into tiles
    of a crop unit ⌊min(w, h)/1.5⌋ (kept within ``min_unit``..``max_unit``), ``per_tile`` each."""

    per_tile: int = 258
    small: int = 384
    min_unit: int = 256
    max_unit: int | None = None

    def describe(self) -> str:
        clamp = f"{self.min_unit}..{self.max_unit} px" if self.max_unit else f"at least {self.min_unit} px"
        return (f"{self.per_tile} if both sides ≤ {self.small} px, else {self.per_tile} per tile of "
                f"⌊min(w,h)/1.5⌋ px ({clamp})")

    def tokens(self, width: int, height: int, detail: str | None = None) -> tuple[int, str]:
        if width <= self.small and height <= self.small:
            return self.per_tile, f"{self.per_tile} per small image"
        unit = max(self.min_unit, math.floor(min(width, height) / 1.5))
        if self.max_unit:
            unit = min(unit, self.max_unit)
        n = math.ceil(width / unit) * math.ceil(height / unit)
        return self.per_tile * n, f"{self.per_tile} per tile × {n} (crop unit {unit} px)"


GEMINI_LEVELS = ("low", "medium", "high", "ultra_high")


@dataclass(frozen=True)
class GeminiLevels:
    """Gemini 3: a fixed budget per image by ``media_resolution`` level, whatever its size."""

    low: int
    medium: int
    high: int
    ultra_high: int
    default: str = "high"

    def describe(self) -> str:
        return (f"per image by media resolution: low {self.low}, medium {self.medium}, high {self.high}, "
                f"ultra_high {self.ultra_high} (default {self.default})")

    def tokens(
        self, width: int, height: int, detail: str | None = None, resolution: str | None = None
    ) -> tuple[int, str]:
        level = resolution or self.default
        n = getattr(self, level)
        return n, f"{n} per image ({level}{', the default' if level == self.default else ''})"


@dataclass(frozen=True)
class PerImage:
    """A fixed count per image (the model resizes every image to one size)."""

    per_image: int
    why: str

    def describe(self) -> str:
        return f"{self.per_image} per image ({self.why})"

    def tokens(self, width: int, height: int, detail: str | None = None) -> tuple[int, str]:
        return self.per_image, f"{self.per_image} per image"


@dataclass(frozen=True)
class QwenPatches:
    """Qwen2-VL / Qwen2.5-VL: one token per 28×28 px after rounding the sides to multiples of 28
    and keeping the area within ``min_pixels``..``max_pixels`` (``smart_resize``), plus the
    ``<|vision_start|>`` and ``<|vision_end|>`` tokens."""

    min_pixels: int = 4 * 28 * 28
    max_pixels: int = 16384 * 28 * 28
    extra: int = 2

    def describe(self) -> str:
        return (f"(w/28)×(h/28) after rounding to multiples of 28 px within {self.min_pixels // 784}.."
                f"{self.max_pixels // 784} tokens, + {self.extra}")

    def tokens(self, width: int, height: int, detail: str | None = None) -> tuple[int, str]:
        f = 28
        h_bar, w_bar = max(f, round(height / f) * f), max(f, round(width / f) * f)
        if h_bar * w_bar > self.max_pixels:
            beta = math.sqrt(height * width / self.max_pixels)
            h_bar, w_bar = math.floor(height / beta / f) * f, math.floor(width / beta / f) * f
        elif h_bar * w_bar < self.min_pixels:
            beta = math.sqrt(self.min_pixels / (height * width))
            h_bar, w_bar = math.ceil(height * beta / f) * f, math.ceil(width * beta / f) * f
        n = (h_bar // f) * (w_bar // f)
        return n + self.extra, f"{w_bar // f}×{h_bar // f} patches of 28 px + {self.extra}"


@dataclass(frozen=True)
class GridTiles:
    """Llama 3.2 Vision as billed by Together AI: 560-px tiles, at most a 2×2 grid, ``per_tile`` each."""

    per_tile: int = 1601
    tile: int = 560
    max_grid: int = 2

    def describe(self) -> str:
        return f"{self.per_tile} per {self.tile}-px tile, at most {self.max_grid}×{self.max_grid} tiles"

    def tokens(self, width: int, height: int, detail: str | None = None) -> tuple[int, str]:
        cols = min(self.max_grid, math.ceil(width / self.tile))
        rows = min(self.max_grid, math.ceil(height / self.tile))
        return self.per_tile * cols * rows, f"{self.per_tile} per tile × {cols * rows}"


ImageFormula = Tiles | Patches | ClaudePatches | GeminiTiles | GeminiLevels | PerImage | QwenPatches | GridTiles


@dataclass(frozen=True)
class Video:
    """Video sampled at ``fps`` frames a second, ``per_frame`` tokens each, plus ``audio_per_s``
    for its sound track (or a flat ``per_s`` where only that is documented)."""

    per_frame: int = 0
    fps: float = 1.0
    audio_per_s: int = 0
    per_s: int | None = None

    @property
    def rate(self) -> float:
        return self.per_s if self.per_s is not None else self.per_frame * self.fps + self.audio_per_s

    def describe(self) -> str:
        if self.per_s is not None:
            return f"{self.per_s}/s"
        return f"{self.per_frame} per frame at {self.fps:g} fps + {self.audio_per_s}/s audio = {self.rate:g}/s"


@dataclass(frozen=True)
class Family:
    """Models billed alike: ``pattern`` (a regular expression, searched in the lower-cased model
    name at its start or after a ``/``, ``.`` or ``:``, as in "openai/gpt-4o" or
    "ft:gpt-4o-mini:acme::x") → the formulas. ``pdf``: tokens per page, or "page image" (each
    page through the image formula, plus its extracted text, which is unknown), or None (unknown).
    ``text``: "openai" (the OpenAI tokenizer and chat framing) or "chars"."""

    name: str
    pattern: str
    image: ImageFormula
    source: str
    audio_per_s: int | None = None
    video: Video | None = None
    pdf: int | str | None = "page image"
    text: str = "chars"
    fallback: bool = False
    models: str = ""  # the models it covers, in words (for the docs table)

    def matches(self, model: str) -> bool:
        return bool(re.search(rf"(?:^|[/.:]){self.pattern}", model.lower().strip()))

    def label(self) -> str:
        return f"{self.name} (not recognised)" if self.fallback else self.name


# --- the tables -------------------------------------------------------------------------------------

_OPENAI_GUIDE = "OpenAI images and vision guide, Calculating costs (2026 copies)"
_OPENAI_MEASURED = "OpenAI community measurements of usage, 2026-03/06 [2nd]"

_GPT_4O_TILES = Tiles(85, 170)

OPENAI_FAMILIES: tuple[Family, ...] = (
    Family("gpt-5.5 patches", r"gpt-5\.5(?!\d)",
           Patches(1.2, budget=2500, max_edge=2048, original_budget=10000, original_edge=6000, auto_means="original"),
           f"{_OPENAI_GUIDE}: gpt-5.5 high 2,500 patches / 2048 px, original 10,000 / 6000 px, auto = original; "
           f"no multiplier documented, 1.2 as measured on gpt-5.4 ({_OPENAI_MEASURED}; unverified for gpt-5.5)",
           text="openai", models="gpt-5.5 (and its snapshots)"),
    Family("gpt-5.4 mini/nano patches", r"gpt-5\.4-(?:mini|nano)", Patches(1.2),
           f"{_OPENAI_GUIDE}: 1,536 patches / 2048 px (the guide's multipliers 1.62 and 2.46); billed at 1.2 "
           f"({_OPENAI_MEASURED}), which Prism uses", text="openai", models="gpt-5.4-mini, gpt-5.4-nano"),
    Family("gpt-5.4 patches", r"gpt-5\.4(?!\d)",
           Patches(1.2, budget=2500, max_edge=2048, original_budget=10000, original_edge=6000, auto_means="high"),
           f"{_OPENAI_GUIDE}: gpt-5.4 high 2,500 patches / 2048 px, original 10,000 / 6000 px, auto = high; "
           f"multiplier not documented, billed at 1.2 ({_OPENAI_MEASURED})", text="openai",
           models="gpt-5.4, gpt-5.4-pro"),
    Family("gpt-5-mini patches", r"gpt-5-mini", Patches(1.2),
           f"{_OPENAI_GUIDE}: 1,536 patches / 2048 px (the guide's multiplier 1.62); OpenAI's pricing-page "
           f"calculator and billed usage: 1.2 ({_OPENAI_MEASURED})", text="openai", models="gpt-5-mini"),
    Family("gpt-5-nano patches", r"gpt-5-nano", Patches(1.5),
           f"{_OPENAI_GUIDE}: 1,536 patches / 2048 px (the guide's multiplier 2.46); OpenAI's pricing-page "
           f"calculator and billed usage: 1.5 ({_OPENAI_MEASURED})", text="openai", models="gpt-5-nano"),
    Family("gpt-5.2/5.3 patches", r"gpt-5\.[23](?!\d)|gpt-5(?:\.1)?-codex-mini", Patches(1.2),
           f"{_OPENAI_GUIDE}: gpt-5.2, gpt-5.2-chat-latest, gpt-5.2/5.3-codex, gpt-5(.1)-codex-mini take 1,536 "
           f"patches / 2048 px, no multiplier documented; billed at 1.2 on gpt-5.2 and gpt-5.3-codex "
           f"({_OPENAI_MEASURED})", text="openai",
           models="gpt-5.2, gpt-5.2-chat-latest, gpt-5.2-codex, gpt-5.3-codex, gpt-5-codex-mini, gpt-5.1-codex-mini"),
    Family("o4-mini patches", r"o4-mini|codex-mini", Patches(1.72),
           f"{_OPENAI_GUIDE}: o4-mini × 1.72, 1,536 patches; codex-mini-latest billed alike ({_OPENAI_MEASURED})",
           text="openai", models="o4-mini, codex-mini-latest"),
    Family("gpt-4.1-mini patches", r"gpt-4\.1-mini", Patches(1.62),
           f"{_OPENAI_GUIDE}: gpt-4.1-mini (2025-04-14) × 1.62, 1,536 patches", text="openai", models="gpt-4.1-mini"),
    Family("gpt-4.1-nano patches", r"gpt-4\.1-nano", Patches(2.46),
           f"{_OPENAI_GUIDE}: gpt-4.1-nano (2025-04-14) × 2.46, 1,536 patches", text="openai", models="gpt-4.1-nano"),
    Family("gpt-5 tiles", r"gpt-5(?:\.1)?(?![\d.])", Tiles(70, 140),
           f"{_OPENAI_GUIDE}: gpt-5 and gpt-5-chat-latest 70 + 140 per tile (gpt-5.1 is in neither of the "
           f"guide's lists: assumed the same)", text="openai",
           models="gpt-5, gpt-5-chat-latest, gpt-5-pro, gpt-5-codex, gpt-5.1"),
    Family("gpt-4o-mini tiles", r"gpt-4o-mini", Tiles(2833, 5667),
           f"{_OPENAI_GUIDE}: 4o-mini 2833 + 5667 per tile (detail low 2833; measured 2845 with a 5-word prompt, "
           f"OpenAI community 2025 [2nd])", text="openai", models="gpt-4o-mini (and its audio/search variants)"),
    Family("o1/o3 tiles", r"o[13](?:-pro)?(?!-mini)(?=$|[-:@])", Tiles(75, 150),
           f"{_OPENAI_GUIDE}: o1, o1-pro, o3 75 + 150 per tile", text="openai", models="o1, o1-pro, o3, o3-pro"),
    Family("computer-use tiles", r"computer-use", Tiles(65, 129),
           f"{_OPENAI_GUIDE}: computer-use-preview 65 + 129 per tile", text="openai", models="computer-use-preview"),
    Family("gpt-4o tiles", r"gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-4-turbo|gpt-4-vision", _GPT_4O_TILES,
           f"{_OPENAI_GUIDE}: 4o, 4.1, 4.5 85 + 170 per tile; examples 1024×1024 high = 765, 2048×4096 = 1105, "
           f"low = 85 (gpt-4-turbo measured alike, OpenAI community 2025 [2nd])", text="openai",
           models="gpt-4o, chatgpt-4o-latest, gpt-4.1, gpt-4.5-preview, gpt-4-turbo"),
)
OPENAI_FALLBACK = Family(
    "gpt-4o tiles", r"", _GPT_4O_TILES,
    f"{_OPENAI_GUIDE}: the GPT-4o figures, for a model no family names (an estimate only: check usage)",
    text="openai", fallback=True, models="any other model")

_CLAUDE_VISION = "Claude vision docs (28-px patches, resize rule) and count_tokens measurements [2nd] (tiers)"

CLAUDE_HIGH_RES = Family(
    "Claude high-resolution tier",
    r"claude-opus-4[-.](?:[7-9]|[1-9]\d)(?!\d)|claude-(?:opus|sonnet|haiku)-(?:[5-9]|[1-9]\d)(?!\d)",
    ClaudePatches(2576, 4784),
    f"{_CLAUDE_VISION}: Claude Opus 4.7 and later models, 2576 px and 4784 tokens (Prism counts Opus 4.7+ "
    f"and Claude 5+ as later)", models="claude-opus-4-7 and later Opus, Claude 5 and later")
CLAUDE_STANDARD = Family(
    "Claude standard tier", r"claude", ClaudePatches(1568, 1568),
    f"{_CLAUDE_VISION}: 1568 px and about 1568 tokens; 1920×1080 becomes 1456×819 = 1560 tokens; a PDF page is "
    f"its text plus a page image (a scanned page measured 1,592 on Haiku 4.5, pdf-token-cost dataset [2nd])",
    models="every other Claude model (Sonnet 4.6, Haiku 4.5, Opus 4.6 and earlier, Claude 3.x)")
CLAUDE_FALLBACK = Family("Claude standard tier", r"", ClaudePatches(1568, 1568),
                         f"{_CLAUDE_VISION}: the standard tier, for a model no family names", fallback=True,
                         models="any other model")

_GEMINI_3_DOC = ("Google Gemini 3 guide, media resolution token counts (Vertex AI copy, 2026): image 1120, "
                 "video 70 per frame, PDF 560 by default")
_GEMINI_VIDEO_DOC = ("Gemini video understanding: 1 frame per second, 258 tokens per frame (66 at low), audio "
                     "32 per second; about 300 tokens per second at default resolution")

GEMINI_3 = Family(
    "Gemini 3 media resolution", r"gemini-(?:[3-9]|[1-9]\d)(?!\d)|gemini-(?:flash|flash-lite|pro)-latest",
    GeminiLevels(280, 560, 1120, 2240),
    f"{_GEMINI_3_DOC}; levels low 280, medium 560, high 1120, ultra_high 2240; video frames low/medium 70, high 280; "
    f"audio 32 per second (Gemini audio docs); PDF pages measured at 560-561 tokens, text or scanned "
    f"(pdf-token-cost dataset, 2026-10 [2nd]); the -latest aliases are assumed to name a Gemini 3 model",
    audio_per_s=32, video=Video(per_frame=70, audio_per_s=32), pdf=560,
    models="gemini-3-*, gemini-3.1-*, later; the gemini-*-latest aliases")
GEMINI_2 = Family(
    "Gemini 2 tiles", r"gemini-2(?!\d)", GeminiTiles(),
    "Gemini image understanding, token calculation: 258 if both sides ≤ 384 px, else 258 per tile of "
    "⌊min(w,h)/1.5⌋ px (960×540 → 6 tiles); the 256-px least crop unit is Gemini 1.5's, kept by Prism; "
    f"PDF page 258 (Gemini document processing, as the earlier reference quoted it [2nd]); {_GEMINI_VIDEO_DOC}; "
    "audio 32 per second (Gemini audio docs)",
    audio_per_s=32, video=Video(per_frame=258, audio_per_s=32), pdf=258, models="gemini-2.0-*, gemini-2.5-*")
GEMINI_15 = Family(
    "Gemini 1.5 tiles", r"gemini-1\.5", GeminiTiles(max_unit=768),
    "Gemini image understanding, token calculation: Gemini 1.5 258 per tile, tiles 256..768 px; video 263 per "
    "second (the older tokens page); PDF page 258; audio 32 per second",
    audio_per_s=32, video=Video(per_s=263), pdf=258, models="gemini-1.5-*")
GEMMA_3 = Family(
    "Gemma 3", r"gemma-?3", PerImage(256, "every image resized to 896×896"),
    "Gemma 3 model card (google/gemma-3-*-it): images normalized to 896×896 and encoded to 256 tokens each",
    pdf=None, models="gemma-3-*, gemma3 (Ollama), gemma-3n")
GEMINI_FALLBACK = Family(
    "Gemini 3 media resolution", r"", GEMINI_3.image,
    f"{_GEMINI_3_DOC}: the current generation's defaults, for a model no family names",
    audio_per_s=32, video=GEMINI_3.video, pdf=560, fallback=True, models="any other model")

QWEN_VL = Family(
    "Qwen2.5-VL", r"qwen2(?:\.5)?-?vl", QwenPatches(),
    "Qwen2-VL / Qwen2.5-VL model cards and preprocessor_config.json: a 28×28-px patch is a token, 4..16384 "
    "tokens per image (min_pixels 3136, max_pixels 12845056), smart_resize of qwen_vl_utils; local servers may "
    "set a lower max_pixels",
    pdf=None, models="qwen2-vl, qwen2.5-vl (OpenRouter, vLLM), qwen2.5vl (Ollama)")
LLAMA_VISION = Family(
    "Llama 3.2 Vision", r"llama-?3\.2(?:-\d+b)?-vision", GridTiles(),
    "Together AI vision docs: Llama 3.2 Vision images cut into at most 2×2 tiles of 560 px, 1601 tokens per tile "
    "(1601, 3202 or 6404 per image)",
    pdf=None, models="llama-3.2-11b/90b-vision, llama3.2-vision (Ollama)")

FAMILIES: dict[str, tuple[Family, ...]] = {
    # Chat also carries gateways' models (OpenRouter, vLLM, Ollama): each bills by its own formula.
    "chat": (*OPENAI_FAMILIES, CLAUDE_HIGH_RES, CLAUDE_STANDARD, GEMINI_3, GEMINI_2, GEMINI_15, GEMMA_3, QWEN_VL,
             LLAMA_VISION, OPENAI_FALLBACK),
    "responses": (*OPENAI_FAMILIES, OPENAI_FALLBACK),
    "messages": (CLAUDE_HIGH_RES, CLAUDE_STANDARD, CLAUDE_FALLBACK),
    "gemini": (GEMINI_3, GEMINI_2, GEMINI_15, GEMMA_3, GEMINI_FALLBACK),
}


@lru_cache(maxsize=256)
def family_for(protocol: str, model: str = "") -> Family:
    """The first family of ``protocol``'s table whose pattern matches ``model`` (its fallback if none)."""
    table = FAMILIES.get(protocol, FAMILIES["chat"])
    return next((f for f in table if not f.fallback and f.matches(model)), table[-1])


def markdown_table(protocol: str) -> str:
    """``protocol``'s table as markdown (family | models | image | audio, video, PDF | source), for
    docs/protocols.md §6."""
    rows = ["| Family | Models | Image | Audio · video · PDF | Source |", "|---|---|---|---|---|"]
    for f in FAMILIES[protocol]:
        other = [
            f"audio {f.audio_per_s}/s" if f.audio_per_s else "audio unknown",
            f"video {f.video.describe()}" if f.video else "video unknown",
            f"PDF {f.pdf} per page" if isinstance(f.pdf, int) else
            ("PDF: each page as an image + its text" if f.pdf else "PDF unknown"),
        ]
        rows.append(f"| {f.label()} | {f.models} | {f.image.describe()} | {'; '.join(other)} | {f.source} |")
    return "\n".join(rows)


# --- text -------------------------------------------------------------------------------------------


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
    if protocol in ("chat", "responses") and family_for(protocol, model).text == "openai":
        name = _openai_encoding_name(model)
        enc = _encoding(name)
        if enc is not None:
            return len(enc.encode(text, disallowed_special=())), f"{name} tokenizer"
    return math.ceil(len(text) / 4), "~4 characters per token"


# --- images -----------------------------------------------------------------------------------------


def _image_with(family: Family, width: int, height: int, detail: str | None = None) -> tuple[int, str]:
    n, how = family.image.tokens(width, height, detail)
    return n, f"{family.label()}: {how}"


def openai_image_tokens(width: int, height: int, detail: str | None, model: str = "") -> tuple[int, str]:
    return _image_with(family_for("chat", model), width, height, detail)


def anthropic_image_tokens(width: int, height: int, model: str = "") -> tuple[int, str]:
    return _image_with(family_for("messages", model), width, height)


def gemini_image_tokens(width: int, height: int, model: str = "", resolution: str | None = None) -> tuple[int, str]:
    """``resolution``: a Gemini 3 media-resolution level (low, medium, high, ultra_high); None is
    the default. Prism does not set it today, so the default is what is sent."""
    family = family_for("gemini", model)
    if isinstance(family.image, GeminiLevels):
        n, how = family.image.tokens(width, height, resolution=resolution)
        return n, f"{family.label()}: {how}"
    return _image_with(family, width, height)


# --- one part ---------------------------------------------------------------------------------------


def _media(family: Family, m: MediaPart) -> tuple[int | None, str, str | None]:
    """(tokens, method, unknown remark)."""
    label = family.label()
    if m.kind == "image":
        if not (m.width and m.height):
            return None, "image size unknown", "image size unknown"
        n, how = _image_with(family, m.width, m.height, m.detail)
        return n, how, None
    if m.kind == "audio":
        if family.audio_per_s is None:
            return None, "not documented", "audio cost not documented for this model"
        if m.duration_s is None:
            return None, "duration unknown", "audio duration unknown"
        return math.ceil(m.duration_s * family.audio_per_s), f"{label}: {family.audio_per_s} tokens/s", None
    if m.kind == "video":
        if family.video is None:
            return None, "not documented", "video cost not documented for this model"
        if m.duration_s is None:
            return None, "duration unknown", "video duration unknown"
        return math.ceil(m.duration_s * family.video.rate), f"{label}: {family.video.describe()}", None
    # pdf
    if family.pdf is None:
        return None, "not documented", "PDF cost not documented for this model"
    if not m.page_count:
        return None, "page count unknown", "PDF page count unknown"
    if isinstance(family.pdf, int):
        return family.pdf * m.page_count, f"{label}: {family.pdf} per page", None
    per, _ = family.image.tokens(PAGE_W, PAGE_H, "high")
    return per * m.page_count, f"{label}: {per} per page image", "PDF extracted text not counted"


def estimate_tokens(rendered: RenderedRequest) -> TokenEstimate:
    """Estimate the input tokens of what ``rendered`` sends (refused parts are not counted)."""
    protocol = rendered.protocol
    model = rendered.target.model
    family = family_for(protocol, model)
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
        n, how, remark = _media(family, m)
        parts.append(PartTokens(w, m.kind, n, how))
        if n is not None:
            sums[m.kind] += n
        if remark:
            unknown.append(f"{w}: {remark}")
    if protocol in ("chat", "responses") and family.text == "openai":
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
        family=family.label(),
        **sums,
    )
