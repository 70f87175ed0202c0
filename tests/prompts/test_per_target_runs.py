"""A run sends what the per-target choices say: a fallback chosen for Chat reaches the Chat model
only, and a part marked "leave out" is left out of the body of a model that cannot take it (the
note logged on the result) while a model that takes it gets it."""

import json

from playground.runs import services
from playground.runs.models import Result
from tests import media_samples as samples
from tests.factories import doc_with, make_item, make_version, model_for


def sent(result) -> dict:
    return json.loads(b"".join(services.result_body_iter(result)))


def clip(team):
    return make_item(team, samples.mp4_bytes(seconds=2.0, width=64, height=48, fps=10), "clip.mp4")


def test_leave_out_sends_the_chat_model_the_text_only_and_gemini_the_video(team, user, provider_server):
    video = clip(team)
    version = make_version(team, doc_with({"text": "What happens?"}, {"media": {"item": video.pk}, "optional": True}), user)
    chat = model_for(team, provider_server, "chat", "gpt-4o", inputs=["image"])
    gemini = model_for(team, provider_server, "gemini")

    run = services.start_run(version=version, values={}, provider_models=[chat, gemini], user=user, team=team)

    a, b = run.results.order_by("position")
    assert a.status == Result.Status.QUEUED and b.status == Result.Status.QUEUED
    assert sent(a)["messages"][-1]["content"] == [{"type": "text", "text": "What happens?"}]
    assert any(n.startswith("message 1 (user), part 2: Left out for gpt-4o: OpenAI Chat Completions has no video part")
               for n in a.notes), a.notes
    assert not any("changed:" in n for n in a.notes)  # left out, not turned to key frames
    parts = sent(b)["contents"][0]["parts"]
    assert parts[1]["inlineData"]["mimeType"] == "video/mp4"
    assert not any("Left out" in n for n in b.notes)


def test_without_leave_out_the_same_chat_model_gets_key_frames_as_before(team, user, provider_server):
    video = clip(team)
    version = make_version(team, doc_with({"text": "What happens?"}, {"media": {"item": video.pk}}), user)
    chat = model_for(team, provider_server, "chat", "gpt-4o", inputs=["image"])

    [check] = services.preflight(version=version, values={}, provider_models=[chat], team=team)

    assert check.ok and len(check.applied) == 1 and "key frames" in check.applied[0]


def test_a_fallback_chosen_for_chat_reaches_the_chat_model_only(team, user, provider_server):
    video = clip(team)
    part = {"media": {"item": video.pk}, "variant_for": {"chat": {"frames": 3}}}
    version = make_version(team, doc_with({"text": "What happens?"}, part), user)
    chat = model_for(team, provider_server, "chat", "gpt-4o")
    gemini = model_for(team, provider_server, "gemini")

    a, b = services.preflight(version=version, values={}, provider_models=[chat, gemini], team=team)

    assert a.ok and b.ok, (a.reasons, b.reasons)
    assert a.rendered.display().count('"type": "image_url"') == 3  # Chat's own choice: 3 frames
    assert not a.applied  # chosen in the document, not an automatic fallback
    assert '"mimeType": "video/mp4"' in b.rendered.display()
