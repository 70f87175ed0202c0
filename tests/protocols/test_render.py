"""Variables, media slots, option checks and what every protocol shares."""

import pytest

from playground.protocols.render import fill_variables, placeholders, render, render_all
from playground.protocols.types import MediaPart, Message, NotSendable, Options, Payload, Prompt, Target, TextPart

from .helpers import JPG, PNG, audio, image

TARGETS = [Target("chat", "gpt-4o"), Target("responses", "gpt-4o"), Target("messages", "claude-sonnet-4-5"), Target("gemini", "gemini-2.5-flash")]


def test_fill_variables_spaces_and_repeats():
    text, problems = fill_variables("Hi {{name}}, {{ name }} and {{  city  }}!", {"name": "Ann", "city": "Lyon"})
    assert (text, problems) == ("Hi Ann, Ann and Lyon!", [])
    assert fill_variables("{{n}} items", {"n": 3}) == ("3 items", [])
    assert placeholders("{{a}} {{ b }} {{a}} {{ not a var }} {a}") == ["a", "b"]


def test_missing_variable_is_a_problem_not_an_exception():
    text, problems = fill_variables("Hi {{name}} and {{name}}", {})
    assert text == "Hi {{name}} and {{name}}"
    [p] = problems
    assert (p.level, p.variable, p.message) == ("error", "name", "No value for variable {{name}}.")


def test_an_empty_value_is_sent_as_nothing_with_a_warning_once():
    text, problems = fill_variables("Hi {{name}} and {{name}}!", {"name": ""})
    assert text == "Hi  and !"
    [p] = problems
    assert (p.level, p.variable, p.message) == ("warning", "name", "{{name}} is empty: it is sent as nothing.")


def test_media_value_in_text_is_a_problem():
    _, [p] = fill_variables("See {{photo}}", {"photo": image()})
    assert "media slot" in p.message


def test_unknown_value_warns_without_blocking():
    r = render(Prompt(messages=[Message("user", [TextPart("Hi")])]), {"extra": "x"}, Target("chat", "gpt-4o"))
    assert r.ok
    [p] = r.problems
    assert (p.level, p.variable) == ("warning", "extra") and "does not use" in p.message


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.protocol)
def test_missing_variable_blocks_sending_in_every_protocol(target):
    p = Prompt(system="Be {{tone}}.", messages=[Message("user", [TextPart("Hi")])], options=Options(max_tokens=5))
    r = render(p, {}, target)
    assert not r.ok and r.refusals == []
    assert [(x.where, x.variable) for x in r.problems] == [("system, part 1", "tone")]
    assert "{{tone}}" in r.display()
    with pytest.raises(NotSendable, match="No value for variable"):
        r.body_bytes()


def test_media_slot_resolved_from_values_with_slot_detail():
    slot = MediaPart("image", variable="photo", detail="low")
    p = Prompt(messages=[Message("user", [TextPart("What is this?"), slot])])
    r = render(p, {"photo": image(JPG, name="x.jpg")}, Target("chat", "gpt-4o"))
    assert r.ok
    assert r.body["messages"][0]["content"][1]["image_url"]["detail"] == "low"
    assert r.body_bytes().endswith(b'"url":"data:image/jpeg;base64,SlBH","detail":"low"}}]}]}')


def test_media_slot_problems():
    p = Prompt(messages=[Message("user", [MediaPart("image", variable="photo")])])
    r = render(p, {}, Target("chat", "gpt-4o"))
    assert not r.ok and r.problems[0].message == "No media given for the image slot {{photo}}."
    assert "{{photo}} is an image slot but was given an audio." in render(p, {"photo": audio()}, Target("chat", "gpt-4o")).problems[0].message
    assert "must be an image, not text" in render(p, {"photo": "cat"}, Target("chat", "gpt-4o")).problems[0].message


def test_bad_options_are_problems_and_left_out():
    p = Prompt(messages=[Message("user", [TextPart("Hi")])], options=Options(max_tokens=0, temperature="hot", schema_name="bad name!", json_schema={}))
    r = render(p, {}, Target("chat", "gpt-4o"))
    assert {x.where for x in r.problems} == {"max_tokens", "temperature", "response format"}
    assert set(r.body) == {"model", "messages"}


def test_empty_prompt_parts_and_messages():
    assert render(Prompt(), {}, Target("chat", "gpt-4o")).problems[0].message == "The prompt has no messages."
    r = render(Prompt(messages=[Message("user", [])]), {}, Target("chat", "gpt-4o"))
    assert r.problems[0].message == "This message is empty."
    r = render(Prompt(messages=[Message("user", [TextPart("{{x}}"), TextPart("Hi")])]), {"x": ""}, Target("gemini", "g"))
    assert r.body["contents"][0]["parts"] == [{"text": "Hi"}]
    assert r.notes[0].message.startswith("Text part left out: it is empty once the variables are filled")  # turns.py (issue 9)


def test_render_all_side_by_side():
    p = Prompt(messages=[Message("user", [TextPart("Hi"), image(), audio()])], options=Options(max_tokens=5))
    out = {r.protocol: r for r in render_all(p, {}, TARGETS)}
    assert [out[k].ok for k in ("chat", "responses", "messages", "gemini")] == [True, False, False, True]
    assert out["responses"].refusals[0].modality == "audio"


def test_constructor_checks():
    with pytest.raises(ValueError):
        MediaPart("hologram", payload=PNG)
    with pytest.raises(ValueError):
        MediaPart("image")  # inline without payload
    with pytest.raises(ValueError):
        MediaPart("image", delivery="url")
    with pytest.raises(ValueError):
        MediaPart("video", payload=PNG, as_frames=True)
    with pytest.raises(ValueError):
        Target("bard", "x")
    with pytest.raises(ValueError):
        Message("system", [])
    assert image().mime_type == "image/png"  # taken from the payload


def test_replace_part_for_a_fallback():
    p = Prompt(messages=[Message("user", [TextPart("Hi"), image()])])
    q = p.replace_part(0, 1, image(JPG))
    assert q.messages[0].parts[1].payload is JPG and p.messages[0].parts[1].payload is PNG


def big(tmp_path, name: str, mb: float, mime="image/png"):
    """A payload whose .b64 file is ``mb`` MB (sparse: nothing is written)."""
    path = tmp_path / f"{name}.b64"
    with open(path, "wb") as f:
        f.truncate(int(mb * 1_000_000))
    return MediaPart("image", width=100, height=100, payload=Payload(mime, int(mb * 750_000), path=path))


def test_size_checks_per_target(tmp_path):
    p = Prompt(messages=[Message("user", [big(tmp_path, f"i{i}", 6) for i in range(6)])], options=Options(max_tokens=5))
    r = render(p, {}, Target("messages", "claude-sonnet-4-5"))
    # each image over Anthropic's 5 MB of base64 is refused, with a JPEG copy to send instead (the
    # request's total is checked on what is left, so once the copies are in)
    assert [r_.part_index for r_ in r.refusals] == list(range(6))
    assert all("5 MB of base64 per image" in r_.reason and r_.fallback.spec == "image:format=jpeg;max_edge=1568;quality=85"
               for r_ in r.refusals)
    under = Prompt(messages=[Message("user", [big(tmp_path, f"u{i}", 4.9) for i in range(7)])], options=Options(max_tokens=5))
    [ref] = render(under, {}, Target("messages", "claude-sonnet-4-5")).refusals
    assert ref.where == "request size" and "32 MB" in ref.reason and "34.3 MB" in ref.reason

    r = render(p, {}, Target("gemini", "gemini-2.5-flash"))
    assert r.ok and any("over Gemini's long-standing 20 MB cap" in n.message for n in r.notes)
    assert r.body_size() > 36_000_000

    p = Prompt(messages=[Message("user", [big(tmp_path, "huge", 21)] * 3)])
    notes = [n.message for n in render(p, {}, Target("chat", "gpt-4o")).notes]
    assert any("over 20 MB" in m for m in notes) and any("50 MB" in m for m in notes)


def test_body_size_none_while_parts_are_refused():
    r = render(Prompt(messages=[Message("user", [audio()])]), {}, Target("responses", "gpt-4o"))
    assert r.body_size() is None
    r = render(Prompt(messages=[Message("user", [TextPart("Hi")])]), {}, Target("responses", "gpt-4o"))
    assert r.body_size() == len(r.body_bytes())
