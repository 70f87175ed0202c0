"""Token estimates (docs/protocols.md §6): documented examples and the breakdown."""

import pytest

from playground.protocols.render import render
from playground.protocols.tokens import (
    anthropic_image_tokens,
    count_text,
    estimate_tokens,
    gemini_image_tokens,
    openai_image_tokens,
)
from playground.protocols.types import MediaPart, Message, Options, Prompt, Target, TextPart

from .helpers import PNG, audio, image, pdf, video


@pytest.mark.parametrize(
    "w,h,detail,expected",
    [
        (1024, 1024, "high", 765),  # the guide's example
        (2048, 4096, "high", 1105),  # the guide's example
        (4000, 3000, "low", 85),
        (512, 512, "high", 255),
        (1024, 1024, "auto", 765),  # auto counted as high
    ],
)
def test_openai_tiles(w, h, detail, expected):
    assert openai_image_tokens(w, h, detail)[0] == expected


def test_openai_patches_for_gpt_4_1_mini():
    # 1024x1024: 32x32 = 1024 patches, x1.62; 1800x2400 shrinks to 1056x1408 = 33x44 = 1452 patches.
    assert openai_image_tokens(1024, 1024, "high", "gpt-4.1-mini")[0] == 1659
    assert openai_image_tokens(1800, 2400, "high", "gpt-4.1-mini")[0] == 2353


@pytest.mark.parametrize(
    "w,h,expected",
    [
        (1920, 1080, 1560),  # docs/protocols.md §6: becomes 1456x819, about 1560 tokens
        (1000, 1000, 36 * 36),
        (200, 200, 64),
        (8000, 100, 56 * 1),  # long edge capped at 1568: 1568x20
    ],
)
def test_anthropic(w, h, expected):
    assert anthropic_image_tokens(w, h)[0] == expected


def test_anthropic_high_res_tier_for_opus_4_7():
    assert anthropic_image_tokens(1920, 1080, "claude-opus-4-7")[0] == 69 * 39  # 1920x1080 fits 2576 px and 4784 tokens


def test_gemini():
    assert gemini_image_tokens(384, 200)[0] == 258
    assert gemini_image_tokens(1024, 1024)[0] == 4 * 258
    assert gemini_image_tokens(1024, 1024, "gemini-3-pro")[0] == 1120


def test_text_counting():
    assert count_text("Hello, world!", "chat", "gpt-4o") == (4, "o200k_base tokenizer")
    assert count_text("Hello, world!", "responses", "gpt-4") == (4, "cl100k_base tokenizer")
    assert count_text("<|endoftext|>", "chat", "gpt-4o")[0] > 1  # special tokens counted as text
    assert count_text("abcdefgh", "messages") == (2, "~4 characters per token")
    assert count_text("abcdefghi", "gemini") == (3, "~4 characters per token")


def prompt():
    return Prompt(
        system="Be brief.",
        messages=[Message("user", [TextPart("Hello, world!"), image(detail="high"), audio(), video(), pdf()])],
        options=Options(max_tokens=10),
    )


def test_gemini_breakdown():
    est = estimate_tokens(render(prompt(), {}, Target("gemini", "gemini-2.5-flash")))
    assert est.is_estimate and est.label == "estimate"
    assert (est.text, est.image, est.audio, est.video, est.pdf) == (3 + 4, 2 * 258, 320, 4 * 263, 2 * 258)
    assert est.total == 7 + 516 + 320 + 1052 + 516
    assert est.unknown == ()
    assert [p.kind for p in est.parts] == ["text", "text", "image", "audio", "video", "pdf"]


def test_chat_breakdown_counts_only_what_is_sent():
    p = Prompt(system="Be brief.", messages=[Message("user", [TextPart("Hello, world!"), image(detail="high"), audio(), pdf()])])
    est = estimate_tokens(render(p, {}, Target("chat", "gpt-4o")))
    framing = 3 * 2 + 3
    assert est.text == 3 + 4 + framing  # "Be brief." is 3 tokens in o200k
    assert est.image == 765  # 1024x768 at high: 768x576 -> 2x2 tiles
    assert est.audio == 0 and est.pdf == 2 * 765
    assert any("audio cost not documented" in u for u in est.unknown)
    assert any("PDF extracted text not counted" in u for u in est.unknown)

    est = estimate_tokens(render(p, {}, Target("responses", "gpt-4o")))  # audio refused: not counted
    assert est.audio == 0 and not any("audio" in u for u in est.unknown)


def test_anthropic_breakdown_and_frames_count_as_images():
    frames = (MediaPart("image", width=640, height=360, payload=PNG), MediaPart("image", width=640, height=360, payload=PNG))
    p = Prompt(messages=[Message("user", [TextPart("abcd"), video().with_frames(frames)])], options=Options(max_tokens=5))
    est = estimate_tokens(render(p, {}, Target("messages", "claude-sonnet-4-5")))
    assert (est.text, est.image, est.video) == (1, 2 * 23 * 13, 0)


def test_unknown_image_size():
    p = Prompt(messages=[Message("user", [MediaPart("image", delivery="url", url="https://x/y.png", mime_type="image/png")])])
    est = estimate_tokens(render(p, {}, Target("chat", "gpt-4o")))
    assert est.image == 0 and est.unknown == ("message 1 (user), part 1: image size unknown",)
