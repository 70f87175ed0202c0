"""limits.py: every documented size, dimension, count and page rule, per protocol and model
(docs/protocols.md §3, §4, §1, §8.14). Each rule: an offending prompt is refused with its reason,
the boundary passes, and where a copy fixes it, the fallback's spec is a real VariantSpec key and
the part it describes renders without the refusal."""

from __future__ import annotations

import dataclasses

import pytest

from playground.protocols import MediaPart, Message, Options, Payload, Prompt, Target, TextPart, render
from playground.protocols.limits import anthropic_image_cap, image_spec, keyframes_spec

from .helpers import JPG, PDF, PNG, WAV

variants = pytest.importorskip("playground.uploads.variants")  # needs PyAV and Pillow, not Django
VariantSpec = variants.VariantSpec

CLAUDE = Target("messages", "claude-sonnet-4-5")  # a 200k-context model: 100 images
CLAUDE_1M = Target("messages", "claude-sonnet-4-6")  # 600 images


def img(w=1000, h=800, payload=PNG, name="", **kw) -> MediaPart:
    return MediaPart("image", name=name, width=w, height=h, payload=payload, **kw)


def pdf(pages: int | None, name="report.pdf", **kw) -> MediaPart:
    return MediaPart("pdf", name=name, page_count=pages, payload=PDF, **kw)


def prompt(*parts) -> Prompt:
    return Prompt(messages=[Message("user", [TextPart("Look."), *parts])], options=Options(max_tokens=5))


def sized(tmp_path, b64_bytes: int, mime="image/png", name="big") -> Payload:
    """A payload whose base64 file has exactly ``b64_bytes`` bytes (sparse: nothing is written)."""
    path = tmp_path / f"{name}-{b64_bytes}.b64"
    with open(path, "wb") as f:
        f.truncate(b64_bytes)
    return Payload(mime, b64_bytes * 3 // 4, path=path)


def apply(part: MediaPart, spec: str) -> MediaPart:
    """What a variant made by ``spec`` would be, as the part that runs put in place of the refused one:
    scaled to its max_edge (keeping the aspect), in its format, a small payload."""
    s = VariantSpec.parse(spec)
    w, h = part.width, part.height
    edge = s.get("max_edge")
    if edge and max(w, h) > edge:
        scale = edge / max(w, h)
        w, h = max(1, round(w * scale)), max(1, round(h * scale))
    fmt = s.get("format")
    mime = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}.get(fmt, part.mime_type)
    return dataclasses.replace(part, width=w, height=h, mime_type=mime, payload=Payload.from_bytes(b"VAR", mime))


def refusals_of(p: Prompt, target: Target):
    return render(p, {}, target).refusals


def parts_with(p: Prompt, fixes: dict[int, MediaPart]) -> Prompt:
    for pi, part in fixes.items():
        p = p.replace_part(0, pi, part)
    return p


# --- the spec texts are canonical VariantSpec keys -----------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {"max_edge": 2000},
        {"max_edge": 8000},
        {"format": "png"},
        {"format": "jpeg"},
        {"format": "png", "max_edge": 2048},
        {"format": "jpeg", "max_edge": 1568},
        {"format": "jpeg", "max_edge": 2576, "quality": 70},
        {"format": "webp", "max_edge": 1000},
    ],
)
def test_image_spec_is_the_canonical_variant_key(kw):
    key = image_spec(**kw)
    assert key == VariantSpec.image(**kw).key()
    assert VariantSpec.parse(key).key() == key


@pytest.mark.parametrize("kw", [{"count": 8}, {"count": 3, "max_edge": 2000}])
def test_keyframes_spec_is_the_canonical_variant_key(kw):
    key = keyframes_spec(**kw)
    assert key == VariantSpec.keyframes(**kw).key() and VariantSpec.parse(key).key() == key


# --- Anthropic: 8000 px ------------------------------------------------------------------------------


def test_anthropic_refuses_an_edge_over_8000_px_and_a_copy_at_8000_fixes_it():
    assert refusals_of(prompt(img(8000, 8000)), CLAUDE) == []
    p = prompt(img(9000, 6000, name="pano.png"))
    [r] = refusals_of(p, CLAUDE)
    assert r.modality == "image" and (r.message_index, r.part_index) == (0, 1)
    assert "9000×6000 px" in r.reason and "over 8000 px on a side" in r.reason and "“pano.png”" in r.reason
    assert r.fallback.kind == "variant" and r.fallback.spec == "image:max_edge=8000;quality=85"
    assert r.fallback.label == "Send a copy scaled to at most 8000 px"
    fixed = apply(p.messages[0].parts[1], r.fallback.spec)
    assert (fixed.width, fixed.height) == (8000, 5333)
    assert refusals_of(parts_with(p, {1: fixed}), CLAUDE) == []


def test_an_edge_over_8000_is_no_rule_for_the_other_protocols():
    p = prompt(img(9000, 6000))
    for t in (Target("chat", "gpt-4o"), Target("responses", "gpt-4o"), Target("gemini", "gemini-2.5-flash")):
        assert refusals_of(p, t) == []


# --- Anthropic: more than 20 images, 2000 px ---------------------------------------------------------


def test_twenty_images_at_2000_px_pass_and_the_twenty_first_brings_the_2000_px_rule():
    twenty = [img(2000, 2000) for _ in range(20)]
    assert refusals_of(prompt(*twenty), CLAUDE) == []
    assert refusals_of(prompt(*twenty[:19], img(2001, 1000)), CLAUDE) == []  # 20 images: 8000 px is the cap

    p = prompt(*twenty, img(2001, 1000, name="wide.png"))  # 21 images, one over 2000 px
    [r] = refusals_of(p, CLAUDE)
    assert r.part_index == 21 and "this one has 21" in r.reason and "at most 2000×2000 px each" in r.reason
    assert r.fallback.spec == "image:max_edge=2000;quality=85"
    fixed = apply(p.messages[0].parts[21], r.fallback.spec)
    assert (fixed.width, fixed.height) == (2000, 1000)
    assert refusals_of(parts_with(p, {21: fixed}), CLAUDE) == []


def test_twenty_five_large_photos_each_get_a_2000_px_copy():
    photos = [img(4032, 3024, payload=JPG, name=f"IMG_{i}.jpg") for i in range(25)]
    p = prompt(*photos)
    refusals = refusals_of(p, CLAUDE)
    assert [r.part_index for r in refusals] == list(range(1, 26))
    assert {r.fallback.spec for r in refusals} == {"image:max_edge=2000;quality=85"}
    fixed = {r.part_index: apply(p.messages[0].parts[r.part_index], r.fallback.spec) for r in refusals}
    assert refusals_of(parts_with(p, fixed), CLAUDE) == []


def test_over_8000_px_in_a_large_request_gets_the_stricter_2000_px_copy():
    p = prompt(*[img(100, 100) for _ in range(20)], img(9000, 9000))
    [r] = refusals_of(p, CLAUDE)
    assert "over 8000 px" in r.reason and "2000×2000" in r.reason
    assert r.fallback.spec == "image:max_edge=2000;quality=85"


def test_key_frames_count_as_images_and_are_made_again_smaller():
    frames = tuple(MediaPart("image", name=f"f{i}", width=3840, height=2160, payload=JPG) for i in range(4))
    video = MediaPart("video", name="clip.mp4", mime_type="video/mp4", payload=Payload.from_bytes(b"MP4", "video/mp4"))
    p = prompt(*[img(500, 500) for _ in range(18)], video.with_frames(frames))  # 18 + 4 = 22 images
    refusals = refusals_of(p, CLAUDE)
    assert len(refusals) == 4 and {r.part_index for r in refusals} == {19}
    assert {(r.fallback.kind, r.fallback.label) for r in refusals} == {("keyframes", "Send the key frames again, scaled to at most 2000 px")}
    assert {r.fallback.spec for r in refusals} == {"keyframes:count=4;format=jpeg;max_edge=2000;quality=85"}
    assert VariantSpec.parse(refusals[0].fallback.spec).key() == refusals[0].fallback.spec
    small = tuple(apply(f, "image:max_edge=2000;quality=85") for f in frames)
    assert refusals_of(parts_with(p, {19: video.with_frames(small)}), CLAUDE) == []


# --- Anthropic: 5 MB of base64 per image --------------------------------------------------------------


def test_an_image_over_5_mb_of_base64_is_refused_with_a_jpeg_copy_at_claudes_own_size(tmp_path):
    limit = 5 * 1024 * 1024
    assert refusals_of(prompt(img(3000, 2000, payload=sized(tmp_path, limit))), CLAUDE) == []
    p = prompt(img(3000, 2000, payload=sized(tmp_path, limit + 1)))
    [r] = refusals_of(p, CLAUDE)
    assert "its base64 is 5.2 MB" in r.reason and "at most 5 MB of base64 per image" in r.reason
    # Claude scales an image down to 1568 px anyway (2576 on Opus 4.7 and later): nothing it sees is lost
    assert r.fallback.spec == "image:format=jpeg;max_edge=1568;quality=85"
    assert r.fallback.label == "Send a JPEG copy scaled to at most 1568 px"
    assert refusals_of(parts_with(p, {1: apply(p.messages[0].parts[1], r.fallback.spec)}), CLAUDE) == []

    [r] = refusals_of(p, Target("messages", "claude-opus-4-7"))
    assert r.fallback.spec == "image:format=jpeg;max_edge=2576;quality=85"


def test_a_small_jpeg_over_5_mb_gets_a_lower_quality(tmp_path):
    p = prompt(img(1200, 900, payload=sized(tmp_path, 6_000_000, "image/jpeg")))
    [r] = refusals_of(p, CLAUDE)
    assert r.fallback.spec == "image:format=jpeg;max_edge=1568;quality=70"


def test_the_5_mb_rule_is_anthropics_only(tmp_path):
    p = prompt(img(3000, 2000, payload=sized(tmp_path, 6_000_000)))
    assert refusals_of(p, Target("gemini", "gemini-2.5-flash")) == []
    assert refusals_of(p, Target("chat", "gpt-4o")) == []


def test_a_heic_over_the_edge_gets_one_copy_that_fixes_both(tmp_path):
    heic = img(9000, 6000, payload=Payload.from_bytes(b"HEI", "image/heic"))
    [r] = refusals_of(prompt(heic), CLAUDE)
    assert "over 8000 px" in r.reason
    assert r.fallback.spec == "image:format=jpeg;max_edge=8000;quality=85"  # Anthropic takes no HEIC either
    fixed = apply(heic, r.fallback.spec)
    assert fixed.mime_type == "image/jpeg" and refusals_of(prompt(fixed), CLAUDE) == []


# --- Anthropic: images and documents per request ------------------------------------------------------


def test_a_200k_context_model_takes_100_images_and_documents():
    hundred = [img(100, 100) for _ in range(100)]
    assert refusals_of(prompt(*hundred), CLAUDE) == []
    [r] = refusals_of(prompt(*hundred, img(100, 100)), CLAUDE)
    assert r.modality == "setting" and r.where == "images"
    assert "101 images" in r.reason and "at most 100 images and documents" in r.reason
    [r] = refusals_of(prompt(*hundred, pdf(1)), CLAUDE)  # a document counts too
    assert "100 images and 1 PDF" in r.reason and r.fallback is None
    assert refusals_of(prompt(*hundred), Target("messages", "claude-haiku-4-5")) == []
    assert refusals_of(prompt(*hundred, img(100, 100)), Target("messages", "claude-haiku-4-5")) != []


def test_other_models_take_600_and_the_configured_model_decides_when_it_says():
    many = [img(100, 100) for _ in range(600)]
    assert refusals_of(prompt(*many), CLAUDE_1M) == []
    [r] = refusals_of(prompt(*many, img(100, 100)), CLAUDE_1M)
    assert "at most 600 images and documents" in r.reason

    configured = dataclasses.replace(CLAUDE_1M, max_images=5, label="Claude Sonnet 4.6 (Anthropic)")
    assert refusals_of(prompt(*many[:5]), configured) == []
    [r] = refusals_of(prompt(*many[:6]), configured)
    assert r.reason == ("Claude Sonnet 4.6 (Anthropic) takes at most 5 images per request; this one has 6. "
                        "Remove some, or split the prompt.")


# --- Anthropic: PDF pages and request size ---------------------------------------------------------------


def test_anthropic_takes_100_pdf_pages_per_request_over_all_pdfs():
    assert refusals_of(prompt(pdf(60), pdf(40)), CLAUDE) == []
    [r] = refusals_of(prompt(pdf(60), pdf(41)), CLAUDE)
    assert r.where == "PDF pages" and "101 pages" in r.reason and "at most 100 PDF pages" in r.reason
    assert refusals_of(prompt(pdf(101)), Target("chat", "gpt-4o")) == []


def test_a_pdf_of_unknown_length_gets_a_note():
    r = render(prompt(pdf(None)), {}, CLAUDE)
    assert r.ok and any(n.where == "PDF pages" and "unknown page count" in n.message for n in r.notes)


def test_anthropic_refuses_over_32_mb_in_the_request(tmp_path):
    under = [img(100, 100, payload=sized(tmp_path, 4_000_000, name=f"a{i}")) for i in range(8)]  # 32.0 MB
    assert refusals_of(prompt(*under), CLAUDE) == []
    [r] = refusals_of(prompt(*under, img(100, 100, payload=sized(tmp_path, 10, name="x"))), CLAUDE)
    assert r.where == "request size" and "32 MB per request" in r.reason


# --- Gemini ----------------------------------------------------------------------------------------------


GEMINI = Target("gemini", "gemini-2.5-flash")


def test_gemini_refuses_over_100_mb_inline_and_warns_over_20(tmp_path):
    r = render(prompt(img(100, 100, payload=sized(tmp_path, 20_000_000))), {}, GEMINI)
    assert r.ok and not any(n.where == "request size" for n in r.notes)
    r = render(prompt(img(100, 100, payload=sized(tmp_path, 20_000_001))), {}, GEMINI)
    assert r.ok and any(n.where == "request size" and n.level == "warning" and "20 MB" in n.message for n in r.notes)
    parts = [img(100, 100, payload=sized(tmp_path, 25_000_000, name=f"g{i}")) for i in range(4)]
    assert refusals_of(prompt(*parts), GEMINI) == []  # exactly 100 MB
    [r] = refusals_of(prompt(*parts, img(100, 100)), GEMINI)
    assert r.where == "request size" and "at most 100 MB of inline" in r.reason


def test_gemini_refuses_an_inline_pdf_over_50_mb_and_over_1000_pages():
    assert refusals_of(prompt(pdf(1000, size_bytes=50_000_000)), GEMINI) == []
    [r] = refusals_of(prompt(pdf(10, size_bytes=50_000_001)), GEMINI)
    assert r.modality == "pdf" and "“report.pdf” is 50.0 MB" in r.reason and "at most 50 MB" in r.reason
    [r] = refusals_of(prompt(pdf(1001)), GEMINI)
    assert "has 1001 pages" in r.reason and "at most 1000 pages" in r.reason


def test_gemini_takes_9_and_a_half_hours_of_audio():
    def clip(hours):
        return MediaPart("audio", name="talk.wav", duration_s=hours * 3600, payload=WAV)

    assert refusals_of(prompt(clip(5), clip(4.5)), GEMINI) == []
    [r] = refusals_of(prompt(clip(5), clip(4.6)), GEMINI)
    assert r.where == "audio length" and "9.6 hours" in r.reason and "at most 9.5 hours" in r.reason


def test_the_configured_image_count_applies_to_gemini():
    t = dataclasses.replace(GEMINI, max_images=3600)
    assert refusals_of(prompt(*[img(10, 10)] * 3600), t) == []
    [r] = refusals_of(prompt(*[img(10, 10)] * 3601), t)
    assert "at most 3600 images" in r.reason and "this one has 3601" in r.reason


# --- OpenAI ------------------------------------------------------------------------------------------------


def test_openai_figures_are_second_hand_so_they_warn_and_the_models_own_limit_refuses(tmp_path):
    many = [img(10, 10)] * 501
    r = render(prompt(*many), {}, Target("chat", "gpt-4o"))
    assert r.ok and any(n.where == "images" and "501 images" in n.message and n.level == "warning" for n in r.notes)
    r = render(prompt(*many[:500]), {}, Target("chat", "gpt-4o"))
    assert not any(n.where == "images" for n in r.notes)
    [ref] = refusals_of(prompt(*many), Target("responses", "gpt-5.4", max_images=500))
    assert "at most 500 images" in ref.reason

    r = render(prompt(img(10, 10, payload=sized(tmp_path, 21_000_000))), {}, Target("responses", "gpt-4o"))
    assert r.ok and any("over 20 MB of base64" in n.message for n in r.notes)


# --- the configured model's formats, edge and URLs -------------------------------------------------------


def test_the_models_formats_refuse_with_a_copy_in_one_it_takes():
    t = Target("chat", "gemma3:12b", image_formats=frozenset({"image/png", "image/jpeg"}), label="Gemma 3 12B (Ollama)")
    webp = img(800, 600, payload=Payload.from_bytes(b"WEB", "image/webp"), name="w.webp")
    [r] = refusals_of(prompt(webp), t)
    assert "Gemma 3 12B (Ollama) is set up to take JPEG, PNG images, not image/webp" in r.reason
    assert r.fallback.spec == "image:format=png" and VariantSpec.parse(r.fallback.spec).key() == r.fallback.spec
    assert refusals_of(prompt(apply(webp, r.fallback.spec)), t) == []
    assert refusals_of(prompt(img(800, 600, payload=JPG)), t) == []

    jpeg_only = dataclasses.replace(t, image_formats=frozenset({"image/jpeg"}))
    [r] = refusals_of(prompt(img(800, 600)), jpeg_only)  # a PNG, to a model that takes JPEG only
    assert r.fallback.spec == "image:format=jpeg;quality=85"


def test_the_models_edge_and_format_give_one_copy():
    t = Target("gemini", "gemini-2.5-flash", image_formats=frozenset({"image/png"}), max_image_edge=2048)
    webp = img(3000, 1500, payload=Payload.from_bytes(b"WEB", "image/webp"))
    [r] = refusals_of(prompt(webp), t)
    assert "up to 2048 px" in r.reason and "not image/webp" in r.reason
    assert r.fallback.spec == "image:format=png;max_edge=2048"
    assert r.fallback.label == "Send a PNG copy scaled to at most 2048 px"
    assert refusals_of(prompt(apply(webp, r.fallback.spec)), t) == []
    assert refusals_of(prompt(img(2048, 1000)), t) == []


def test_a_url_part_without_a_stored_copy_to_an_inline_only_model_is_refused_saying_what_to_do():
    url_image = MediaPart("image", name="cat.jpg", mime_type="image/jpeg", width=800, height=600, delivery="url",
                          url="https://example.com/cat.jpg")
    inline_only = Target("chat", "qwen2.5vl:7b", accepts_urls=False, label="Qwen2.5-VL 7B (Ollama)")
    [r] = refusals_of(prompt(url_image), inline_only)
    assert r.fallback is None  # Prism does not download while it renders: no button that could not work
    assert "Qwen2.5-VL 7B (Ollama) is set up to take media inline only" in r.reason and "“cat.jpg” is sent by URL" in r.reason
    assert "Fetch and store a copy" in r.reason
    assert refusals_of(prompt(url_image), Target("chat", "qwen2.5vl:7b")) == []
    assert refusals_of(prompt(img()), inline_only) == []


def test_an_optional_part_left_out_for_the_target_is_not_counted():
    bmp = MediaPart("image", name="scan.bmp", width=100, height=100, optional=True,
                    payload=Payload.from_bytes(b"BMP", "image/bmp"))  # Anthropic takes no BMP: left out
    r = render(prompt(*[img(100, 100) for _ in range(100)], bmp), {}, CLAUDE)
    assert r.ok, r.refusals
    assert any(n.level == "warning" and n.message.startswith("Left out for") for n in r.notes)
    # not optional: it would be fixed (a PNG copy) and sent, so it counts, and 101 is one too many
    refused = refusals_of(prompt(*[img(100, 100) for _ in range(100)], dataclasses.replace(bmp, optional=False)), CLAUDE)
    assert {r_.where for r_ in refused} == {"message 1 (user), part 102", "images"}


def test_openai_pdf_pages_and_size_are_warned():
    r = render(prompt(pdf(60), pdf(40)), {}, Target("chat", "gpt-4o"))
    assert r.ok and not any(n.where == "PDF pages" for n in r.notes)
    for t in (Target("chat", "gpt-4o"), Target("responses", "gpt-4o")):
        r = render(prompt(pdf(60), pdf(41)), {}, t)
        assert r.ok and any(n.where == "PDF pages" and "101 pages" in n.message and n.level == "warning" for n in r.notes)
    r = render(prompt(pdf(3, size_bytes=32_000_001)), {}, Target("responses", "gpt-4o"))
    assert r.ok and any(n.where == "PDF pages" and "32.0 MB" in n.message for n in r.notes)


@pytest.mark.parametrize(
    ("model", "cap"),
    [("claude-sonnet-4-6", 600), ("claude-opus-4-7", 600), ("claude-opus-5", 600), ("claude-sonnet-4-5", 100),
     ("claude-haiku-4-5", 100), ("claude-3-5-sonnet-20241022", 100), ("some-proxy-model", 100)],
)
def test_the_image_cap_per_claude_model(model, cap):
    assert anthropic_image_cap(model) == cap


def test_gemini_warns_past_ten_videos_or_an_hour_of_video():
    def video(minutes):
        return MediaPart("video", name="v.mp4", mime_type="video/mp4", duration_s=minutes * 60,
                         payload=Payload.from_bytes(b"MP4", "video/mp4"))

    r = render(prompt(*[video(6)] * 10), {}, GEMINI)
    assert r.ok and not any(n.where == "video length" for n in r.notes)
    for parts in ([video(1)] * 11, [video(61)]):
        r = render(prompt(*parts), {}, GEMINI)
        assert r.ok and any(n.where == "video length" and n.level == "warning" for n in r.notes)
