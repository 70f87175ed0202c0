"""The prompt document shape and building a protocols.Prompt from files (the CLI's path)."""

import json

import pytest

from playground.prompts.document import DocumentError, build_prompt, for_target, media_refs, normalize
from playground.prompts.sources import FileSource, variant_options
from playground.protocols import Target, render
from tests import media_samples as samples

DOC = {
    "system": "You are a careful visual analyst.",
    "messages": [
        {"role": "user", "parts": [
            {"text": "Describe {{subject}} in this picture."},
            {"media": "photo.png", "detail": "high"},
            {"media": "clip.wav"},
        ]}
    ],
    "variables": {"subject": "the main object"},
    "options": {"max_tokens": 300, "temperature": 0.2},
}


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "photo.png").write_bytes(samples.png_bytes(64, 48))
    (tmp_path / "clip.wav").write_bytes(samples.wav_bytes(seconds=1.0))
    (tmp_path / "movie.mp4").write_bytes(samples.mp4_bytes(seconds=2.0))
    return tmp_path


def test_the_issue_example_builds_with_media_read_from_the_bytes(folder):
    built = build_prompt(normalize(DOC), FileSource(folder))

    assert built.ok
    image, audio = built.media[(0, 1)], built.media[(0, 2)]
    assert (image.kind, image.mime_type, image.width, image.height, image.detail) == ("image", "image/png", 64, 48, "high")
    assert (audio.kind, audio.mime_type) == ("audio", "audio/wav")
    chat = render(built.prompt, built.values, Target("chat", "gpt-4o"))
    assert chat.ok
    assert json.loads(chat.body_bytes())["messages"][1]["content"][0]["text"] == "Describe the main object in this picture."


def test_a_missing_file_is_an_issue_on_its_part_not_an_exception(folder):
    doc = normalize({"messages": [{"role": "user", "parts": [{"text": "hi"}, {"media": "nope.png"}]}]})

    built = build_prompt(doc, FileSource(folder))

    assert not built.ok
    assert built.issues[0].part_index == 1
    assert "nope.png: no such file" in built.issues[0].message


def test_imports_cannot_reach_outside_their_folder(folder):
    doc = normalize({"messages": [{"role": "user", "parts": [{"media": "../../etc/passwd"}]}]})

    built = build_prompt(doc, FileSource(folder, confine=True))

    assert "inside the prompt's folder" in built.issues[0].message


def test_a_variant_is_made_and_sent_in_place_of_the_original(folder):
    doc = normalize({"messages": [{"role": "user", "parts": [
        {"media": "photo.png", "variant": {"format": "jpeg", "max_edge": 32}},
        {"media": "clip.wav", "variant": {"format": "mp3"}},
        {"media": "movie.mp4", "variant": {"frames": 3}},
    ]}]})

    built = build_prompt(doc, FileSource(folder))

    image, audio, video = (built.media[(0, i)] for i in range(3))
    assert (image.mime_type, image.width, image.height) == ("image/jpeg", 32, 24)
    assert audio.mime_type == "audio/mpeg"
    assert video.as_frames and len(video.frames) == 3 and video.frames[0].mime_type == "image/jpeg"


def test_a_media_variable_fills_a_slot(folder):
    doc = normalize({
        "messages": [{"role": "user", "parts": [{"media_variable": "photo", "kind": "image"}]}],
        "variables": {"photo": {"media": "photo.png"}},
    })

    built = build_prompt(doc, FileSource(folder))
    request = render(built.prompt, built.values, Target("messages", "claude-sonnet-4-5"))

    assert request.ok
    assert json.loads(request.body_bytes())["messages"][0]["content"][0]["source"]["media_type"] == "image/png"


@pytest.mark.parametrize("bad,words", [
    ({"mesages": []}, "Unknown top-level"),
    ({"messages": [{"role": "system", "parts": []}]}, "user or assistant"),
    ({"messages": [{"role": "user", "parts": [{"text": "a", "media": "b"}]}]}, "only \"text\""),
    ({"messages": [{"role": "user", "parts": [{"media": "a.png", "detail": "ultra"}]}]}, "detail"),
    ({"messages": [{"role": "user", "parts": [{"media_variable": "x"}]}]}, "needs \"kind\""),
    ({"options": {"max_token": 3}}, "Unknown option"),
])
def test_a_malformed_document_says_where(bad, words):
    with pytest.raises(DocumentError, match=words):
        normalize(bad)


def test_media_refs_lists_parts_and_variables():
    doc = normalize({
        "messages": [{"role": "user", "parts": [{"media": {"item": 3}}, {"text": "x"}]}],
        "variables": {"photo": {"media": {"item": 5}}, "name": "Ann"},
    })
    assert media_refs(doc) == [{"item": 3}, {"item": 5}]


def test_a_fallback_spec_becomes_document_variant_options():
    assert variant_options("image:format=png") == {"format": "png"}
    assert variant_options("keyframes:count=8;format=jpeg;quality=85") == {"frames": 8}
    assert variant_options("audio:bitrate=128000;format=mp3")["format"] == "mp3"


def test_parts_after_an_unresolved_one_keep_their_document_numbers(folder):
    doc = normalize({"messages": [{"role": "user", "parts": [
        {"text": "hi"}, {"media": "gone.png"}, {"media": "clip.wav"},
    ]}]})

    built = build_prompt(doc, FileSource(folder))
    request = render(built.prompt, built.values, Target("messages", "claude-sonnet-4-5"))

    assert [(i.message_index, i.part_index) for i in built.issues] == [(0, 1)]
    assert [(r.message_index, r.part_index, r.modality) for r in request.refusals] == [(0, 2, "audio")]
    assert not request.ok


# --- a fallback for one target only -----------------------------------------------------------------


def _video_doc(**part):
    return normalize({"messages": [{"role": "user", "parts": [{"text": "What happens?"}, {"media": "clip.mp4", **part}]}]})


def test_for_target_gives_each_target_its_own_variant():
    doc = _video_doc(variant_for={"chat": {"frames": 8}}, send="url")
    chat = for_target(doc, "chat")["messages"][0]["parts"][1]
    gemini = for_target(doc, "gemini")["messages"][0]["parts"][1]
    assert chat == {"media": "clip.mp4", "variant": {"frames": 8}}  # a variant goes inline
    assert gemini == {"media": "clip.mp4", "send": "url"}
    assert doc["messages"][0]["parts"][1]["variant_for"] == {"chat": {"frames": 8}}  # the document is unchanged


def test_for_target_keeps_the_shared_variant_for_targets_without_their_own():
    doc = _video_doc(variant={"frames": 4}, variant_for={"gateway": {"frames": 12}})
    assert for_target(doc, "messages")["messages"][0]["parts"][1]["variant"] == {"frames": 4}
    assert for_target(doc, "gateway")["messages"][0]["parts"][1]["variant"] == {"frames": 12}


@pytest.mark.parametrize(
    "part, message",
    [
        ({"variant_for": {"claude": {"frames": 8}}}, "variant_for maps a target"),
        ({"variant_for": {"chat": "frames"}}, "variant_for maps a target"),
        ({"optional": "yes"}, "optional must be true or false"),
    ],
)
def test_per_target_keys_are_checked(part, message):
    with pytest.raises(DocumentError, match=message):
        _video_doc(**part)


def test_optional_false_and_an_empty_variant_for_are_left_out():
    assert _video_doc(optional=False, variant_for={})["messages"][0]["parts"][1] == {"media": "clip.mp4"}
    assert _video_doc(optional=True)["messages"][0]["parts"][1] == {"media": "clip.mp4", "optional": True}
