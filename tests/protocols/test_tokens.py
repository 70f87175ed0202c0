"""Token estimates (docs/protocols.md §6): the documented worked examples, per model family, and the
breakdown of a rendered request. Each expected figure comes from the source named beside it (the
provider's example, or its rule worked by hand), never from running the code."""

import pytest

from playground.protocols.render import render
from playground.protocols.tokens import (
    anthropic_image_tokens,
    count_text,
    estimate_tokens,
    gemini_image_tokens,
    openai_image_tokens,
    patch_count,
)
from playground.protocols.types import MediaPart, Message, Options, Prompt, Target, TextPart

from .helpers import PNG, audio, image, pdf, video

# --- OpenAI, tiles (vision guide, "Calculating costs", tile-based tokenization) ----------------------


@pytest.mark.parametrize(
    "w,h,detail,expected",
    [
        (1024, 1024, "high", 765),  # the guide: 768×768 → 4 tiles, 170 × 4 + 85
        (2048, 4096, "high", 1105),  # the guide: 1024×2048 → 768×1536 → 6 tiles, 170 × 6 + 85
        (4096, 8192, "low", 85),  # the guide: low is a fixed cost whatever the size
        (512, 512, "high", 255),  # the rule by hand: no upscaling, 1 tile: 170 + 85
        (1024, 1024, "auto", 765),  # Prism counts auto as high (docs/protocols.md §6)
    ],
)
def test_gpt_4o_tiles(w, h, detail, expected):
    assert openai_image_tokens(w, h, detail, "gpt-4o")[0] == expected


@pytest.mark.parametrize(
    "model,base,tile",
    [  # the guide's table of base and tile tokens, on its 4-tile 1024×1024 example
        ("gpt-4o-mini", 2833, 5667),
        ("gpt-4o-mini-2024-07-18", 2833, 5667),
        ("gpt-4.1", 85, 170),
        ("gpt-4.5-preview", 85, 170),
        ("gpt-5", 70, 140),
        ("gpt-5-chat-latest", 70, 140),
        ("o1", 75, 150),
        ("o1-pro", 75, 150),
        ("o3", 75, 150),
        ("computer-use-preview", 65, 129),
    ],
)
def test_tile_constants_per_family(model, base, tile):
    assert openai_image_tokens(1024, 1024, "high", model)[0] == base + 4 * tile
    assert openai_image_tokens(1024, 1024, "low", model)[0] == base


def test_gpt_4o_mini_is_about_33_times_gpt_4o():
    # The guide: 2833 + 4 × 5667 = 25501 against 765 (issue 9 quotes "about 33×").
    mini, how = openai_image_tokens(1024, 1024, "high", "gpt-4o-mini")
    assert mini == 25501 and round(mini / 765) == 33
    assert how == "gpt-4o-mini tiles: 2833 + 5667 per tile × 4"


# --- OpenAI, patches (vision guide, patch-based tokenization) ----------------------------------------


def test_patch_examples_from_the_guide():
    assert patch_count(1024, 1024) == 1024  # 32 × 32, under the 1,536 budget
    assert patch_count(1800, 2400) == 1452  # 57 × 75 = 4275 → shrink → 1056×1408 → 33 × 44
    assert patch_count(1800, 2400, budget=10000, max_edge=6000) == 4275  # step A, nothing to shrink


def test_patch_multipliers_from_the_guide():
    # gpt-4.1-mini × 1.62, gpt-4.1-nano × 2.46, o4-mini × 1.72 on the guide's two examples.
    assert openai_image_tokens(1024, 1024, "high", "gpt-4.1-mini")[0] == 1659  # 1024 × 1.62 = 1658.88
    assert openai_image_tokens(1800, 2400, "high", "gpt-4.1-mini")[0] == 2353  # 1452 × 1.62 = 2352.24
    assert openai_image_tokens(1024, 1024, "high", "gpt-4.1-nano-2025-04-14")[0] == 2520  # 1024 × 2.46 = 2519.04
    assert openai_image_tokens(1800, 2400, "high", "o4-mini")[0] == 2498  # 1452 × 1.72 = 2497.44


@pytest.mark.parametrize(
    "w,h,billed",
    [  # gpt-5-mini image input tokens measured from usage (OpenAI community thread, June 2026): 1.20 per patch
        (256, 256, 77),
        (512, 512, 308),
        (768, 1024, 922),
        (1280, 720, 1104),
        (1024, 1024, 1229),
        (2048, 768, 1844),
    ],
)
def test_gpt_5_mini_matches_measured_usage(w, h, billed):
    assert openai_image_tokens(w, h, "high", "gpt-5-mini")[0] == billed


def test_small_gpt_5_models_bill_the_measured_multipliers():
    # OpenAI's pricing-page calculator and billed usage: gpt-5-nano 1.5 ("1536 tokens × 1.5 = 2304");
    # gpt-5.4-mini and gpt-5.4-nano 1.2 ("max billed image tokens 1843" = 1536 × 1.2, rounded down there).
    assert openai_image_tokens(2048, 768, "high", "gpt-5-nano")[0] == 2304
    for model in ("gpt-5.4-mini", "gpt-5.4-nano", "openai/gpt-5.4-mini"):
        tokens, how = openai_image_tokens(2048, 768, "high", model)
        assert tokens in (1843, 1844) and "× 1.2" in how


def test_1600_square_measured_on_the_two_budgets():
    # OpenAI community, 2026-03: 1600×1600 is billed as 2,500 patches on gpt-5.4 (50 × 50, its high budget)
    # and as 1,521 on gpt-5-mini (shrunk to 1248×1248 = 39 × 39 under 1,536), both × 1.2.
    assert patch_count(1600, 1600) == 1521
    assert patch_count(1600, 1600, budget=2500) == 2500
    assert openai_image_tokens(1600, 1600, "high", "gpt-5.4")[0] == 3000
    assert openai_image_tokens(1600, 1600, "high", "gpt-5-mini")[0] == 1826  # 1521 × 1.2 = 1825.2


def test_detail_low_is_billed_as_high_on_patch_models():
    # "detail: low is of no effect on these patches models" (OpenAI community measurements, 2026-03).
    assert openai_image_tokens(1024, 1024, "low", "gpt-5-mini")[0] == 1229


def test_gpt_5_4_and_5_5_budgets_and_original():
    # The guide: gpt-5.4 and gpt-5.5 take 2,500 patches at high and 10,000 at original (≤ 6000 px);
    # auto means high on gpt-5.4 and original on gpt-5.5. 1800×2400 is 4275 patches (the guide's step A).
    assert openai_image_tokens(1800, 2400, "original", "gpt-5.4")[0] == 5130  # 4275 × 1.2
    assert openai_image_tokens(1800, 2400, "auto", "gpt-5.5")[0] == 5130
    assert openai_image_tokens(1024, 1024, "auto", "gpt-5.4")[0] == 1229  # 1024 patches (under 2,500) × 1.2
    high, how = openai_image_tokens(1800, 2400, "high", "gpt-5.4")
    assert "budget 2500" in how and high <= 2500 * 1.2
    # original is not documented for the 1,536-patch models: counted as high there.
    assert openai_image_tokens(1800, 2400, "original", "gpt-5-mini")[0] == 1743  # 1452 × 1.2 = 1742.4


# --- Anthropic (vision docs: 28-px patches, the tiers' caps) ------------------------------------------


@pytest.mark.parametrize(
    "w,h,expected",
    [
        (1920, 1080, 1560),  # docs/protocols.md §6: becomes 1456×819, 52 × 30
        (1000, 1000, 36 * 36),  # under both caps: ⌈1000/28⌉²
        (200, 200, 64),  # ⌈200/28⌉ = 8
        (8000, 100, 56 * 1),  # long edge capped at 1568 px: 1568×20 → 56 × 1
    ],
)
def test_anthropic_standard_tier(w, h, expected):
    assert anthropic_image_tokens(w, h, "claude-sonnet-4-6")[0] == expected


def test_anthropic_high_res_tier_for_opus_4_7():
    # 1920×1080 fits 2576 px and 4784 tokens on the high-resolution tier: ⌈1920/28⌉ × ⌈1080/28⌉.
    for model in ("claude-opus-4-7", "anthropic/claude-opus-4.7"):
        tokens, how = anthropic_image_tokens(1920, 1080, model)
        assert tokens == 69 * 39 and how.startswith("Claude high-resolution tier")
    assert anthropic_image_tokens(1920, 1080, "claude-opus-4-20250514")[0] == 1560  # Opus 4 (a date, not 4.20)


def test_anthropic_about_w_h_over_750():
    # The docs' rule of thumb, w·h/750, is within a few percent of the patches under the caps.
    tokens = anthropic_image_tokens(1000, 1000, "claude-haiku-4-5")[0]
    assert abs(tokens - 1000 * 1000 / 750) / tokens < 0.03


# --- Gemini (image understanding token calculation; Gemini 3 media resolution) ------------------------


def test_gemini_2_tiles():
    assert gemini_image_tokens(384, 200, "gemini-2.5-flash")[0] == 258  # both sides ≤ 384 px
    assert gemini_image_tokens(960, 540, "gemini-2.5-flash")[0] == 6 * 258  # the docs' example: unit 360, 3 × 2 tiles
    assert gemini_image_tokens(960, 540, "gemini-2.0-flash")[0] == 6 * 258


def test_gemini_3_levels():
    # Gemini 3 media resolution: low 280, medium 560, high 1120 (the default), ultra_high 2240, any size.
    assert gemini_image_tokens(960, 540, "gemini-3-flash-preview")[0] == 1120
    assert gemini_image_tokens(4000, 3000, "gemini-3.1-pro-preview")[0] == 1120
    levels = {r: gemini_image_tokens(960, 540, "gemini-3-flash-preview", r)[0] for r in ("low", "medium", "high", "ultra_high")}
    assert levels == {"low": 280, "medium": 560, "high": 1120, "ultra_high": 2240}


# --- gateway models through Chat ---------------------------------------------------------------------


def test_gateway_models_bill_by_their_own_formula():
    assert openai_image_tokens(1920, 1080, "high", "anthropic/claude-sonnet-4.6")[0] == 1560  # Claude's example
    assert openai_image_tokens(960, 540, "high", "google/gemini-2.5-flash")[0] == 6 * 258  # Gemini's example
    assert openai_image_tokens(960, 540, "high", "google/gemini-3-flash-preview")[0] == 1120
    assert openai_image_tokens(4000, 3000, "auto", "gemma3:12b")[0] == 256  # Gemma 3 model card: 256 per image
    # Qwen2.5-VL: a 28×28-px patch is a token, + vision start/end; 1008 = 36 × 28.
    assert openai_image_tokens(1008, 1008, "auto", "qwen2.5vl:7b")[0] == 36 * 36 + 2
    assert openai_image_tokens(1008, 1008, "auto", "qwen/qwen2.5-vl-72b-instruct")[0] == 36 * 36 + 2
    # Llama 3.2 Vision (Together AI's table): 1601, 3202 or 6404 per image.
    assert openai_image_tokens(500, 500, "auto", "llama3.2-vision:11b")[0] == 1601
    assert openai_image_tokens(1000, 500, "auto", "llama3.2-vision:11b")[0] == 3202
    assert openai_image_tokens(1000, 1000, "auto", "llama3.2-vision:11b")[0] == 6404


def test_an_unknown_model_says_so():
    tokens, how = openai_image_tokens(1024, 1024, "high", "some-new-model")
    assert tokens == 765 and how.startswith("gpt-4o tiles (not recognised): ")
    assert anthropic_image_tokens(1920, 1080, "")[1].startswith("Claude standard tier (not recognised)")


# --- text --------------------------------------------------------------------------------------------


def test_text_counting():
    assert count_text("Hello, world!", "chat", "gpt-4o") == (4, "o200k_base tokenizer")
    assert count_text("Hello, world!", "responses", "gpt-4") == (4, "cl100k_base tokenizer")
    assert count_text("<|endoftext|>", "chat", "gpt-4o")[0] > 1  # special tokens counted as text
    assert count_text("abcdefgh", "messages") == (2, "~4 characters per token")
    assert count_text("abcdefghi", "gemini") == (3, "~4 characters per token")
    # A Claude model behind a Chat gateway is not tokenized by OpenAI's tables.
    assert count_text("abcdefgh", "chat", "anthropic/claude-sonnet-4.6") == (2, "~4 characters per token")


# --- the breakdown of a rendered request ---------------------------------------------------------------


def prompt():
    return Prompt(
        system="Be brief.",
        messages=[Message("user", [TextPart("Hello, world!"), image(detail="high"), audio(), video(), pdf()])],
        options=Options(max_tokens=10),
    )


def test_gemini_2_breakdown():
    est = estimate_tokens(render(prompt(), {}, Target("gemini", "gemini-2.5-flash")))
    assert est.is_estimate and est.label == "estimate" and est.family == "Gemini 2 tiles"
    # 1024×768: unit 512 → 2 × 2 tiles; audio 10 s × 32; video 4 s × (258 a frame at 1 fps + 32 audio);
    # PDF 2 pages × 258 (Gemini docs).
    assert (est.text, est.image, est.audio, est.video, est.pdf) == (3 + 4, 4 * 258, 320, 4 * 290, 2 * 258)
    assert est.total == 7 + 1032 + 320 + 1160 + 516
    assert est.unknown == ()
    assert [p.kind for p in est.parts] == ["text", "text", "image", "audio", "video", "pdf"]
    assert est.parts[4].method == "Gemini 2 tiles: 258 per frame at 1 fps + 32/s audio = 290/s"


def test_gemini_3_breakdown():
    est = estimate_tokens(render(prompt(), {}, Target("gemini", "gemini-3-flash-preview")))
    # Gemini 3 defaults: image 1120, video 70 a frame (+ 32/s audio), PDF 560 a page; audio 32/s.
    assert (est.image, est.audio, est.video, est.pdf) == (1120, 320, 4 * 102, 2 * 560)
    assert est.family == "Gemini 3 media resolution"


def test_chat_breakdown_counts_only_what_is_sent():
    p = Prompt(system="Be brief.", messages=[Message("user", [TextPart("Hello, world!"), image(detail="high"), audio(), pdf()])])
    est = estimate_tokens(render(p, {}, Target("chat", "gpt-4o")))
    framing = 3 * 2 + 3
    assert est.text == 3 + 4 + framing  # "Be brief." is 3 tokens in o200k
    assert est.image == 765  # 1024x768 at high: 768x576 -> 2x2 tiles
    assert est.audio == 0 and est.pdf == 2 * 765
    assert any("audio cost not documented" in u for u in est.unknown)
    assert any("PDF extracted text not counted" in u for u in est.unknown)
    assert est.family == "gpt-4o tiles"

    est = estimate_tokens(render(p, {}, Target("responses", "gpt-4o")))  # audio refused: not counted
    assert est.audio == 0 and not any("audio" in u for u in est.unknown)


def test_chat_gateway_to_claude_uses_claudes_rules():
    p = Prompt(messages=[Message("user", [TextPart("abcdefgh"), MediaPart("image", width=1920, height=1080, payload=PNG)])])
    est = estimate_tokens(render(p, {}, Target("chat", "anthropic/claude-sonnet-4.6", gateway=True)))
    assert (est.text, est.image) == (2, 1560)  # ~4 characters a token, no OpenAI framing; Claude's 1920×1080
    assert est.family == "Claude standard tier"


def test_anthropic_breakdown_and_frames_count_as_images():
    frames = (MediaPart("image", width=640, height=360, payload=PNG), MediaPart("image", width=640, height=360, payload=PNG))
    p = Prompt(messages=[Message("user", [TextPart("abcd"), video().with_frames(frames)])], options=Options(max_tokens=5))
    est = estimate_tokens(render(p, {}, Target("messages", "claude-sonnet-4-5")))
    assert (est.text, est.image, est.video) == (1, 2 * 23 * 13, 0)  # ⌈640/28⌉ × ⌈360/28⌉ a frame


def test_unknown_image_size():
    p = Prompt(messages=[Message("user", [MediaPart("image", delivery="url", url="https://x/y.png", mime_type="image/png")])])
    est = estimate_tokens(render(p, {}, Target("chat", "gpt-4o")))
    assert est.image == 0 and est.unknown == ("message 1 (user), part 1: image size unknown",)


def test_an_unrecognised_model_is_named_in_the_estimate():
    est = estimate_tokens(render(Prompt(messages=[Message("user", [image()])]), {}, Target("chat", "acme-vision-1")))
    assert est.family == "gpt-4o tiles (not recognised)"
    assert est.parts[0].method.startswith("gpt-4o tiles (not recognised): ")
