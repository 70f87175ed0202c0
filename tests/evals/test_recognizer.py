"""The locally made evaluation sets (tests/eval_data.py) and the fake provider playing a recogniser
(``see`` / ``hear`` in tests/provider_server.py): the sets are what their labels say, the recogniser
reads them right at err=0 through JPEG and resizing, wrong on about err of them otherwise, the same
on every call, and its answers arrive through the project's provider client on all four protocols."""

import csv
import io
import json
import math
import time
import wave
import zipfile

import pytest
from PIL import Image, ImageChops

from playground.protocols import MediaPart, Message, Options, Payload, Prompt, TextPart, render
from playground.uploads.identify import inspect_file
from playground.uploads.variants import VariantSpec, make_variant
from tests.eval_data import (
    BACKGROUNDS,
    COLOURS,
    DTMF,
    SHAPES,
    digits_to_words,
    make_shapes,
    make_tone_clips,
    read_shape,
    read_tones,
    shape_labels,
    write_zip,
)
from tests.media_samples import mp3_bytes, wav_bytes
from tests.provider_server import NOT_HEARD, NOT_SEEN, Behaviour, recognised
from tests.providers import send_one

FILL = {"circle": math.pi / 4, "square": 1.0, "triangle": 0.5, "star": 0.326}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return make_shapes(tmp_path_factory.mktemp("shapes"), n=200)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return make_tone_clips(tmp_path_factory.mktemp("clips"), n=50)


def reencoded(raw: bytes, *, fmt="JPEG", quality=70, edge=None) -> bytes:
    im = Image.open(io.BytesIO(raw)).convert("RGB")
    if edge:
        im = im.resize((edge, edge), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buf.getvalue()


def answers(cases, spec="see", model="fake-see", transform=None):
    b = Behaviour.parse(spec)
    return [recognised([("image/png", transform(c.path.read_bytes()) if transform else c.path.read_bytes())], b, model)
            for c in cases]  # fmt: skip


# --- the generators ------------------------------------------------------------------------------


def test_shape_images_are_what_their_labels_say(shapes):
    assert len(shapes) == 200 and len({c.path for c in shapes}) == 200
    # Balanced: every colour x shape appears 200/24 times, give or take one.
    combos = [(c.fields["colour"], c.fields["shape"]) for c in shapes]
    assert {combos.count(k) for k in set(combos)} <= {8, 9} and len(set(combos)) == len(COLOURS) * len(SHAPES)
    plain = [c for c in shapes if "plain" in c.tags]
    assert 60 < len(plain) < 140
    for case in plain[:48]:
        im = Image.open(case.path)
        assert (im.format, im.size, im.mode) == ("PNG", (256, 256), "RGB")
        assert case.expected == f"{case.fields['colour']} {case.fields['shape']}" and case.kind == "image"
        # Read independently of read_shape: the pixels of exactly the named colour, and their box.
        r, g, b = ImageChops.difference(im, Image.new("RGB", im.size, COLOURS[case.fields["colour"]])).split()
        mask = ImageChops.lighter(ImageChops.lighter(r, g), b).point(lambda v: 255 if v == 0 else 0)
        colours = dict((rgb, n) for n, rgb in im.getcolors(1 << 16))
        assert set(colours) == {COLOURS[case.fields["colour"]], BACKGROUNDS[case.fields["background"]]}
        box = mask.getbbox()
        ratio = colours[COLOURS[case.fields["colour"]]] / ((box[2] - box[0]) * (box[3] - box[1]))
        assert abs(ratio - FILL[case.fields["shape"]]) < 0.06, (case.path.name, case.expected, ratio)
        assert min(box[2] - box[0], box[3] - box[1]) >= 0.3 * 256


def test_the_generators_are_deterministic_by_seed(tmp_path):
    a = make_shapes(tmp_path / "a", n=6, seed=3)
    b = make_shapes(tmp_path / "b", n=6, seed=3)
    c = make_shapes(tmp_path / "c", n=6, seed=4)
    assert [x.path.read_bytes() for x in a] == [x.path.read_bytes() for x in b]
    assert [x.path.read_bytes() for x in a] != [x.path.read_bytes() for x in c]
    t1, t2 = make_tone_clips(tmp_path / "t1", n=3, seed=1), make_tone_clips(tmp_path / "t2", n=3, seed=1)
    assert [x.path.read_bytes() for x in t1] == [x.path.read_bytes() for x in t2]


def test_jpeg_kb_makes_photo_sized_jpegs_that_still_read(tmp_path):
    cases = make_shapes(tmp_path, n=4, jpeg_kb=1000)
    for case in cases:
        size_kb = case.path.stat().st_size / 1024
        assert 700 < size_kb < 1400, size_kb
        im = Image.open(case.path)
        assert im.format == "JPEG" and min(im.size) > 1000
        assert read_shape(case.path.read_bytes()) == (case.fields["colour"], case.fields["shape"])


def test_tone_clips_hold_their_digits(clips):
    assert len(clips) == 50
    for case in clips[:10]:
        digits = case.fields["digits"]
        assert case.expected == digits_to_words(digits) and 3 <= len(digits) <= 6 and case.kind == "audio"
        with wave.open(str(case.path)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
            assert abs(w.getnframes() / 16000 - (0.1 + 0.2 * len(digits))) < 0.002
            frames = w.readframes(w.getnframes())
        samples = [int.from_bytes(frames[i : i + 2], "little", signed=True) for i in range(0, len(frames), 2)]
        # Independently of read_tones: a plain DFT of the first digit's middle 100 ms.
        seg = samples[1600 + 400 : 1600 + 2000]
        power = {f: abs(sum(v * complex(math.cos(2 * math.pi * f * t / 16000), -math.sin(2 * math.pi * f * t / 16000))
                            for t, v in enumerate(seg))) for f in (697, 770, 852, 941, 1209, 1336, 1477)}  # fmt: skip
        top_two = sorted(power, key=power.get)[-2:]
        assert sorted(top_two) == list(DTMF[digits[0]])
        # and the gaps are silence
        assert not any(samples[1600 + 2400 : 1600 + 3200])


@pytest.mark.parametrize("manifest", ["csv", "jsonl"])
def test_write_zip_holds_the_media_and_a_manifest(shapes, clips, tmp_path, manifest):
    cases = shapes[:5] + clips[:3]
    path = write_zip(cases, tmp_path / f"set.{manifest}.zip", manifest=manifest)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert names[0] == f"manifest.{manifest}" and sorted(names[1:]) == sorted(c.path.name for c in cases)
        text = z.read(names[0]).decode()
        for c in cases:
            assert z.read(c.path.name) == c.path.read_bytes()
    if manifest == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert list(rows[0]) == ["file", "expected", "kind", "tags", "background", "colour", "digits", "shape"]
        tags = [r["tags"].split(";") for r in rows]
    else:
        rows = [json.loads(line) for line in text.splitlines()]
        tags = [r["tags"] for r in rows]
    assert [(r["file"], r["expected"], r["kind"]) for r in rows] == [(c.path.name, c.expected, c.kind) for c in cases]
    assert {r["kind"] for r in rows[:5]} == {"image"} and {r["kind"] for r in rows[5:]} == {"audio"}
    assert {c.expected_kind for c in cases} == {"label", "text"}
    assert {r["expected"] for r in rows[:5]} <= set(shape_labels())
    assert tags == [c.tags for c in cases]
    assert rows[0]["colour"] == shapes[0].fields["colour"] and rows[-1]["digits"] == clips[2].fields["digits"]
    with pytest.raises(ValueError, match="manifest must be"):
        write_zip(cases, tmp_path / "x.zip", manifest="xml")


# --- the recogniser at err=0 -------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["png-256", "jpeg-q70", "resized-128", "jpeg-q70-512"])
def test_the_recogniser_reads_every_image_right_at_no_error(shapes, variant):
    transform = {
        "png-256": None,
        "jpeg-q70": lambda raw: reencoded(raw, quality=70),
        "resized-128": lambda raw: reencoded(raw, fmt="PNG", edge=128),
        "jpeg-q70-512": lambda raw: reencoded(raw, quality=70, edge=512),
    }[variant]
    got = answers(shapes, transform=transform)
    wrong = [(c.path.name, c.expected, a) for c, a in zip(shapes, got, strict=True) if a != f"a {c.expected}"]
    assert wrong == []


def test_the_recogniser_hears_every_clip_right_at_no_error(clips):
    b = Behaviour.parse("hear")
    for case in clips:
        assert read_tones(case.path.read_bytes()) == list(case.fields["digits"])
        assert recognised([("audio/wav", case.path.read_bytes())], b, "fake-hear") == case.expected


def test_what_cannot_be_read_says_so():
    blank = io.BytesIO()
    Image.new("RGB", (64, 64), (250, 250, 250)).save(blank, "PNG")
    b = Behaviour.parse("see")
    assert recognised([("image/png", blank.getvalue())], b, "m") == NOT_SEEN
    assert recognised([("image/png", b"not an image")], b, "m") == NOT_SEEN
    assert recognised([("audio/mp3", b"ID3 not really")], b, "m") == NOT_HEARD
    assert recognised([], b, "m") == "There is nothing to recognise."


# --- errors, deterministic -----------------------------------------------------------------------------


def test_err_makes_about_that_share_wrong_the_same_on_every_call(shapes):
    first = answers(shapes, "see-err=0.2", model="fake-see-err=0.2")
    assert answers(shapes, "see-err=0.2", model="fake-see-err=0.2") == first
    wrong = [c for c, a in zip(shapes, first, strict=True) if a != f"a {c.expected}"]
    assert 25 <= len(wrong) <= 55, len(wrong)
    # A wrong answer is still a colour and a shape, just not this one.
    for c, a in zip(shapes, first, strict=True):
        _, colour, shape = a.split(" ")
        assert colour in COLOURS and shape in SHAPES and ((colour, shape) == (c.fields["colour"], c.fields["shape"])) == (c not in wrong)
    # Another model with the same error rate is wrong on other cases (paired tests need that).
    other = answers(shapes, "see:err=0.2", model="fake-other")
    other_wrong = {c.path for c, a in zip(shapes, other, strict=True) if a != f"a {c.expected}"}
    assert 25 <= len(other_wrong) <= 55 and other_wrong != {c.path for c in wrong}


def test_hear_err_substitutes_drops_or_inserts_digits(clips):
    def heard():
        return [recognised([("audio/wav", c.path.read_bytes())], Behaviour.parse("hear-err=0.3"), "fake-hear-err=0.3") for c in clips]

    got = heard()
    assert heard() == got  # the same on every call (and what was read is remembered unchanged)
    wrong = [(c, a) for c, a in zip(clips, got, strict=True) if a != c.expected]
    assert 6 <= len(wrong) <= 26, len(wrong)
    for c, a in wrong:
        assert abs(len(a.split()) - len(c.expected.split())) <= 1


def test_small_images_can_be_seen_worse_and_the_answer_shaped(shapes):
    small = answers(shapes[:60], "see:small=128,small-err=0.9", transform=lambda raw: reencoded(raw, fmt="PNG", edge=128))
    large = answers(shapes[:60], "see:small=128,small-err=0.9")
    assert sum(a != f"a {c.expected}" for c, a in zip(shapes, small, strict=False)) > 40
    assert all(a == f"a {c.expected}" for c, a in zip(shapes, large, strict=False))
    c = shapes[0]
    assert answers([c], "see:say=label") == [c.expected]
    assert answers([c], "see:say=colour") == [c.fields["colour"]]
    assert answers([c], "see:say=shape") == [c.fields["shape"]]
    assert json.loads(answers([c], "see:say=json")[0]) == {"colour": c.fields["colour"], "shape": c.fields["shape"]}


def test_the_shorthand_parses():
    assert Behaviour.parse("see-err=0.2") == Behaviour("see", (("err", "0.2"),))
    assert Behaviour.parse("hear-err=0.1:delay=500").get("delay") == "500"
    assert Behaviour.parse("see").spec == "see"
    with pytest.raises(ValueError, match="Unknown fake behaviour"):
        Behaviour.parse("smell-err=0.1")


# --- through the provider client, on every protocol -----------------------------------------------------

MODELS = {"chat": "fake-see-err=0", "responses": "fake-see-err=0", "messages": "fake-see-err=0", "gemini": "fake-see-err=0"}


def image_prompt(raw: bytes, mime: str) -> Prompt:
    im = Image.open(io.BytesIO(raw))
    part = MediaPart("image", name="case.jpg", width=im.width, height=im.height, payload=Payload.from_bytes(raw, mime))
    return Prompt(system="Name the colour and the shape.", messages=(Message("user", (TextPart("What is this?"), part)),),
                  options=Options(max_tokens=64))  # fmt: skip


@pytest.mark.parametrize("protocol", ["chat", "responses", "messages", "gemini"])
def test_each_protocol_gets_the_recognised_shape_and_usage(provider_server, shapes, protocol):
    case = shapes[7]
    raw = reencoded(case.path.read_bytes(), quality=80)
    rendered = render(image_prompt(raw, "image/jpeg"), {}, provider_server.target(protocol, MODELS[protocol]))
    assert rendered.ok, (rendered.refusals, rendered.problems)
    outcome = send_one(rendered)
    assert outcome.ok, outcome.error
    assert outcome.result.output_text == f"a {case.expected}"
    assert outcome.result.finish_reason == "stop"
    u = outcome.result.usage
    assert u.input >= 258 and u.output > 0 and u.input + u.output == u.total
    seen = provider_server.received[-1]
    assert seen.problems == [] and seen.behaviour == "see:err=0" and seen.counts["images"] == 1


@pytest.mark.parametrize("protocol", ["chat", "gemini"])
def test_audio_protocols_get_the_recognised_digits(provider_server, clips, protocol):
    case = clips[4]
    raw = case.path.read_bytes()
    clip = MediaPart("audio", name="case.wav", duration_s=0.1 + 0.2 * len(case.fields["digits"]),
                     payload=Payload.from_bytes(raw, "audio/wav"))  # fmt: skip
    prompt = Prompt(messages=(Message("user", (TextPart("Transcribe."), clip)),), options=Options(max_tokens=64))
    model = "fake-hear-err=0" if protocol == "gemini" else "fake-hear:err=0"
    outcome = send_one(render(prompt, {}, provider_server.target(protocol, model)))
    assert outcome.ok, outcome.error
    assert outcome.result.output_text == case.expected and outcome.result.usage.output > 0


def test_the_answer_waits_for_the_delay_and_stays_deterministic(provider_server, shapes):
    raw = shapes[3].path.read_bytes()
    rendered = render(image_prompt(raw, "image/png"), {}, provider_server.target("chat", "fake-see:err=0.5,delay=150"))
    outcomes = [send_one(rendered) for _ in range(3)]
    assert len({o.result.output_text for o in outcomes}) == 1
    assert all(o.latency_s >= 0.15 for o in outcomes)


# --- through the project's own media variants (an evaluation run's arms) --------------------------------


@pytest.mark.parametrize("spec", [
    VariantSpec.image(max_edge=128, format="jpeg", quality=50),
    VariantSpec.image(max_edge=512, format="webp", quality=60),
    VariantSpec.image(max_edge=64, format="png"),
], ids=str)  # fmt: skip
def test_shapes_read_right_after_an_image_arm(shapes, spec):
    for case in shapes[:24]:
        (out,) = make_variant(case.path, inspect_file(case.path), spec)
        assert recognised([(out.mime_type, out.data)], Behaviour.parse("see"), "m") == f"a {case.expected}", case.path.name


@pytest.mark.parametrize("spec", [
    VariantSpec.audio(),  # MP3, 128 kbit/s
    VariantSpec.audio(format="mp3", sample_rate=8000, bitrate=32000),
    VariantSpec.audio(format="wav", sample_rate=8000),
    VariantSpec.audio(format="wav", sample_rate=44100, channels=2),
], ids=str)  # fmt: skip
def test_digits_read_right_after_an_audio_arm(clips, spec):
    for case in clips[:8]:
        (out,) = make_variant(case.path, inspect_file(case.path), spec)
        got = recognised([(out.mime_type, out.data)], Behaviour.parse("hear"), "m")
        assert got == case.expected, (case.path.name, out.mime_type, out.details)


def test_audio_that_is_not_dtmf_is_not_heard():
    for raw in (mp3_bytes(), wav_bytes(), b"RIFF\x00\x00not a wav"):
        assert recognised([("audio/wav", raw)], Behaviour.parse("hear"), "m") == NOT_HEARD


def test_a_medium_arriving_several_times_at_once_is_read_once():
    import threading

    from tests import provider_server

    calls, gate = [], threading.Event()

    def slow_read(raw):
        calls.append(raw)
        gate.wait(5)
        return ["1", "2"]

    key = ("test", id(calls))
    threads = [threading.Thread(target=lambda: results.append(provider_server._read("hear", b"x", key, slow_read)))
               for _ in range(5)]  # fmt: skip
    results: list = []
    for t in threads:
        t.start()
    time.sleep(0.05)  # all five are in _read by now: one reading, four waiting for it
    gate.set()
    for t in threads:
        t.join(5)
    assert len(calls) == 1 and results == [("1", "2")] * 5
    assert provider_server._read("hear", b"x", key, slow_read) == ("1", "2") and len(calls) == 1
