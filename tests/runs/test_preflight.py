"""Preflight: per model, the exact body, the estimate, and the fallbacks its capabilities call for."""

from decimal import Decimal

import pytest

from playground.catalog.models import Provider
from playground.lib.env import parse_env_keys
from playground.runs import services
from playground.runs.models import Result, Run
from tests import media_samples as samples
from tests.factories import doc_with, make_item, make_model, make_png, make_provider, make_version, make_wav, model_for


def check(version, pm, team, values=None):
    [c] = services.preflight(version=version, values=values or {}, provider_models=[pm], team=team)
    return c


def test_it_shows_the_exact_body_with_the_models_name_tokens_and_cost(team, user, text_version, provider_server):
    pm = model_for(team, provider_server, "chat", "gpt-4o-mini")

    c = check(text_version, pm, team, {"subject": "a dog"})

    assert c.ok and not c.reasons and not c.applied and c.key_problem is None
    assert '"model": "gpt-4o-mini"' in c.rendered.display() and "Describe a dog in one line." in c.rendered.display()
    assert c.rendered.url == provider_server.base_url + "/v1/chat/completions"
    assert c.tokens.total > 0 and c.tokens.label == "estimate"
    assert c.estimated_cost == (Decimal(c.tokens.total) * Decimal("2.5") / 1_000_000).quantize(Decimal("0.00000001"))


def test_the_cost_is_unknown_without_prices_and_capped_with_max_tokens(team, user, provider_server):
    version = make_version(team, doc_with({"text": "Hi"}, options={"max_tokens": 100}), user)
    priced = model_for(team, provider_server, "messages")
    unpriced = model_for(team, provider_server, "gemini", prices=False)

    a, b = services.preflight(version=version, values={}, provider_models=[priced, unpriced], team=team)

    assert a.max_cost == a.estimated_cost + Decimal("0.001")  # 100 output tokens at $10 per million
    assert b.estimated_cost is None and b.max_cost is None


def test_a_video_goes_to_a_model_without_video_as_key_frames(team, user, provider_server):
    clip = make_item(team, samples.mp4_bytes(seconds=2.0, width=64, height=48, fps=10), "clip.mp4")
    version = make_version(team, doc_with({"text": "What happens?"}, {"media": {"item": clip.pk}}), user)
    no_video = model_for(team, provider_server, "chat", "gpt-4o", inputs=["image"])
    gemini = model_for(team, provider_server, "gemini")

    a, b = services.preflight(version=version, values={}, provider_models=[no_video, gemini], team=team)

    assert a.ok, a.reasons
    assert len(a.applied) == 1 and "video sent as 8 key frames" in a.applied[0] and "clip.mp4" in a.applied[0]
    assert a.rendered.display().count("\"type\": \"image_url\"") == 8
    assert b.ok and not b.applied  # Gemini takes the video itself


def test_heic_to_anthropic_is_sent_as_a_converted_copy(team, user, provider_server):
    if not samples.heic_supported():
        pytest.skip("no HEIC encoder to make a sample")
    photo = make_item(team, samples.heic_bytes(64, 48), "photo.heic")
    version = make_version(team, doc_with({"text": "Describe it."}, {"media": {"item": photo.pk}}), user)
    claude = model_for(team, provider_server, "messages")
    gemini = model_for(team, provider_server, "gemini")

    a, b = services.preflight(version=version, values={}, provider_models=[claude, gemini], team=team)

    assert a.ok and "a JPEG copy" in a.applied[0] and "“photo.heic”" in a.applied[0]
    assert '"media_type": "image/jpeg"' in a.rendered.display()
    assert b.ok and not b.applied and "image/heic" in b.rendered.display()


def test_a_media_variable_gets_its_fallback_too(team, user, provider_server):
    gif = make_item(team, samples.gif_bytes(32, 24, frames=1), "still.gif")
    version = make_version(team, doc_with({"text": "What is it?"}, {"media_variable": "photo", "kind": "image"},
                                          variables={"photo": {"media": {"item": gif.pk}}}), user)
    gemini = model_for(team, provider_server, "gemini")  # no GIF on Gemini

    c = check(version, gemini, team)

    assert c.ok, c.reasons
    assert c.applied[0].startswith("{{photo}}: image sent as a PNG copy")
    assert "image/png" in c.rendered.display()


def test_the_models_own_image_formats_and_size_limit_apply(team, user, provider_server):
    big = make_png(team, "wide.png", width=1200, height=600)
    version = make_version(team, doc_with({"text": "Look."}, {"media": {"item": big.pk}}), user)
    pm = model_for(team, provider_server, "chat", "local-vision", image_formats=["image/jpeg"], max_image_edge=512)

    c = check(version, pm, team)

    assert c.ok, c.reasons
    assert "a JPEG copy scaled to at most 512 px" in c.applied[0]
    [image] = [s.media for s in c.rendered.sent if s.media is not None]
    assert (image.mime_type, image.width, image.height) == ("image/jpeg", 512, 256)


def test_too_many_images_is_a_refusal(team, user, provider_server):
    png = make_png(team, "a.png", width=32, height=24)
    version = make_version(team, doc_with({"media": {"item": png.pk}}, {"media": {"item": png.pk}}), user)
    pm = model_for(team, provider_server, "chat", max_images=1)

    c = check(version, pm, team)

    assert not c.ok and "at most 1 image per request; this one has 2" in c.reasons[0]


def test_audio_to_anthropic_is_refused_clearly_when_no_fallback_exists(team, user, provider_server):
    wav = make_wav(team)
    version = make_version(team, doc_with({"text": "Transcribe."}, {"media": {"item": wav.pk}}), user)
    claude = model_for(team, provider_server, "messages")
    chat = model_for(team, provider_server, "chat")

    a, b = services.preflight(version=version, values={}, provider_models=[claude, chat], team=team)

    assert not a.ok and not a.applied and any("audio" in r for r in a.reasons)
    assert b.ok and '"input_audio"' in b.rendered.display()


def test_a_model_set_up_without_a_kind_is_refused_without_a_fallback(team, user, provider_server):
    pdf = make_item(team, samples.pdf_bytes(pages=1), "doc.pdf")
    version = make_version(team, doc_with({"text": "Summarize."}, {"media": {"item": pdf.pk}}), user)
    pm = model_for(team, provider_server, "chat", inputs=["image"])

    c = check(version, pm, team)

    assert not c.ok and c.reasons == ["Model gpt-4o is set up without pdf input."]


def test_a_missing_key_is_a_key_problem_naming_what_to_do(team, user, text_version, provider_server, monkeypatch,
                                                          settings):
    settings.PRISM_ENV_KEYS = parse_env_keys("FAKE_MISSING_KEY=127.0.0.1@*")
    monkeypatch.delenv("FAKE_MISSING_KEY", raising=False)
    env = make_provider(team, provider_server, "chat", name="Env", key_source=Provider.KeySource.ENV,
                        api_key_env="FAKE_MISSING_KEY")
    stored = make_provider(team, provider_server, "messages", name="Stored", key="")
    local = make_provider(team, provider_server, "chat", name="Local", key_source=Provider.KeySource.NONE)
    models = [make_model(env, "gpt-4o"), make_model(stored, "claude-sonnet-4-5"), make_model(local, "llama3")]

    a, b, c = services.preflight(version=text_version, values={}, provider_models=models, team=team)

    assert not a.ok and "FAKE_MISSING_KEY is not set" in a.key_problem
    assert not b.ok and "enter a key" in b.key_problem
    assert c.ok and c.key_problem is None
    run = services.start_run(version=text_version, values={}, provider_models=models, user=user, team=team)
    statuses = [(r.status, r.error_kind) for r in run.results.order_by("position")]
    assert statuses == [("refused", "key"), ("refused", "key"), ("queued", "")]


def test_start_run_stores_refusals_with_their_reasons(team, user, provider_server):
    wav = make_wav(team)
    version = make_version(team, doc_with({"text": "Transcribe."}, {"media": {"item": wav.pk}}), user)
    claude = model_for(team, provider_server, "messages")

    run = services.start_run(version=version, values={}, provider_models=[claude], user=user, team=team)

    [result] = run.results.all()
    assert result.status == Result.Status.REFUSED and result.error_kind == "refused"
    assert "audio" in result.error_message and result.request_body is None
    run.refresh_from_db()
    assert run.status == Run.Status.DONE
    assert services.run_progress(run) == {
        "total": 1, "succeeded": 0, "failed": 0, "refused": 1, "cancelled": 0, "running": 0, "queued": 0,
        "finished": 1, "percent": 100, "done": True,
    }


def test_models_of_another_team_are_left_out(team, other_team, user, text_version, provider_server):
    mine = model_for(team, provider_server, "chat")
    theirs = model_for(other_team, provider_server, "chat")

    checks = services.preflight(version=text_version, values={}, provider_models=[theirs, mine], team=team)

    assert [c.provider_model.pk for c in checks] == [mine.pk]
