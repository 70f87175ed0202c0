"""Preview columns for the models a team will call: each column is a protocol and a model (one of
the team's configured models, or a preset), with that model's capabilities, limits and prices; a
configured model's column is fitted as a run fits it and shows the body the run sends."""

import html
import json
import re

from django.urls import reverse

from playground.catalog import presets
from playground.catalog.services import apply_preset
from playground.prompts import columns, editor
from playground.prompts.forms import PreviewSettingsForm
from playground.prompts.library_source import LibrarySource
from playground.prompts.previews import columns_for, render_previews
from playground.protocols.anthropic_messages import DEFAULT_VERSION, version_summary
from playground.runs import sending, services
from playground.runs.models import Result
from tests import media_samples as samples
from tests.conftest import HX
from tests.factories import (
    doc_with,
    make_item,
    make_model,
    make_png,
    make_prompt,
    make_provider,
    make_version,
    model_for,
)


def settings_with(**kw) -> dict:
    return {**PreviewSettingsForm.defaults(), **kw}


def post(client, prompt, doc, settings):
    return client.post(reverse("prompts:preview", args=[prompt.pk]), editor.form_data(doc, {}, settings), headers=HX)


def column_html(page: str, key: str) -> str:
    start = page.index(f'id="col-{key}"')
    end = page.find("<article", start)
    return page[start:end if end != -1 else None]


def openai_models(team):
    """The OpenAI preset's gpt-5.4 and gpt-4o-audio-preview, configured for the team."""
    provider = apply_preset(team=team, key="openai", api_key="sk-test", model_names=["gpt-5.4", "gpt-4o-audio-preview"])
    return provider.models.get(name="gpt-5.4"), provider.models.get(name="gpt-4o-audio-preview")


# --- the choices -------------------------------------------------------------------------------------


def test_catalog_registers_the_choices_and_a_team_without_models_gets_the_presets(team):
    assert "catalog" in columns.registered()

    picked = columns_for(PreviewSettingsForm.defaults(), team)

    assert [c.column for c in picked] == ["chat", "responses", "messages", "gemini"]
    assert not any(c.configured for c in picked)
    # Each default is the first model of the preset for that protocol, named as the preset names it.
    firsts = {"chat": presets.OPENAI, "responses": presets.OPENAI_RESPONSES, "messages": presets.ANTHROPIC,
              "gemini": presets.GEMINI}
    for choice in picked:
        preset = firsts[choice.column]
        assert choice.id == f"preset:{preset.key}:{preset.models[0].name}"
        assert choice.target.model == preset.models[0].name
        assert choice.label == f"{preset.models[0].label} ({preset.name})"
        assert choice.target.inputs == frozenset(preset.models[0].inputs)


def test_the_teams_configured_model_is_the_default_and_other_teams_models_are_not_offered(team, other_team):
    gpt54, _audio = openai_models(team)
    theirs = apply_preset(team=other_team, key="anthropic", api_key="sk-ant-x").models.first()

    picked = columns_for(settings_with(model_messages=f"pm:{theirs.pk}"), team)

    chat, messages = picked[0], picked[2]
    # Of the team's Chat models, the first that takes the most kinds: gpt-5.4 (images, PDFs), not the
    # audio-only gpt-4o-audio-preview that comes first by name and would refuse every image.
    assert chat.configured and chat.id == f"pm:{gpt54.pk}"
    assert chat.label == "GPT-5.4 (OpenAI)"
    assert not messages.configured and messages.target.model == presets.ANTHROPIC.models[0].name
    assert all(c.id != f"pm:{theirs.pk}" for c in columns.choices_for(team))


def test_a_configured_models_column_has_its_prices(team):
    gpt54, _ = openai_models(team)
    doc = doc_with({"text": "Say hello."})

    [col] = render_previews(doc=doc, values=None, source=LibrarySource(team),
                            targets=columns_for(settings_with(columns=["chat"], model_chat=f"pm:{gpt54.pk}"), team)).columns

    assert col.estimated_cost == gpt54.cost(input_tokens=col.tokens.total, output_tokens=0)
    assert col.estimated_cost > 0


# --- what the columns show --------------------------------------------------------------------------


def test_the_wav_is_refused_for_gpt_5_4_and_accepted_for_the_audio_model(client_logged_in, team, user, wav):
    gpt54, audio = openai_models(team)
    doc = doc_with({"text": "Transcribe this."}, {"media": {"item": wav.pk}})
    prompt = make_prompt(team, user=user, doc=doc)

    for_gpt54 = html.unescape(column_html(post(client_logged_in, prompt, doc, settings_with(
        columns=["chat"], model_chat=f"pm:{gpt54.pk}")).content.decode(), "chat"))
    for_audio = html.unescape(column_html(post(client_logged_in, prompt, doc, settings_with(
        columns=["chat"], model_chat=f"pm:{audio.pk}")).content.decode(), "chat"))

    assert "GPT-5.4 (OpenAI)" in for_gpt54 and "cannot send" in for_gpt54
    assert "Model gpt-5.4 is set up without audio input." in for_gpt54
    assert "GPT-4o audio (preview) (OpenAI)" in for_audio
    assert "cannot send" not in for_audio and "set up without audio input" not in for_audio
    assert "input_audio" in re.sub(r"<[^>]+>", "", for_audio)  # the WAV is in the body


def test_the_header_names_the_model_and_the_anthropic_version(client_logged_in, team, user):
    prompt = make_prompt(team, user=user, doc=doc_with({"text": "Hi"}))
    newer = apply_preset(team=team, key="anthropic", name="Anthropic (new API)", api_key="sk-ant-x",
                         model_names=["claude-haiku-4-5"])
    newer.api_version = "2026-10-21"
    newer.save()
    haiku = newer.models.get()

    preset_page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()
    mine = post(client_logged_in, prompt, doc_with({"text": "Hi"}),
                settings_with(model_messages=f"pm:{haiku.pk}")).content.decode()

    # No setting: the team's configured model is the default, with its provider's version.
    col = column_html(preset_page, "messages")
    assert "Claude Haiku 4.5 (Anthropic (new API))" in col and "anthropic-version 2026-10-21" in col
    col = column_html(mine, "messages")
    assert "Claude Haiku 4.5 (Anthropic (new API))" in col and "anthropic-version 2026-10-21" in col
    # A preset, with the protocol default version (read from protocols/anthropic_messages.py).
    other = post(client_logged_in, prompt, doc_with({"text": "Hi"}),
                 settings_with(model_messages="preset:anthropic:claude-sonnet-4-6")).content.decode()
    col = column_html(other, "messages")
    assert "Claude Sonnet 4.6 (Anthropic)" in col and f"anthropic-version {DEFAULT_VERSION}" in col
    assert f'title="{version_summary(DEFAULT_VERSION)}"' in html.unescape(col)  # what that version's body may carry


def test_the_settings_offer_the_teams_models_then_the_presets(client_logged_in, team, user):
    gpt54, audio = openai_models(team)
    prompt = make_prompt(team, user=user, doc=doc_with({"text": "Hi"}))

    page = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()

    select = page[page.index('name="pv-model_chat"'):]
    select = select[:select.index("</select>")]
    mine, rest = select.split('<optgroup label="Presets">')
    assert '<optgroup label="Your models">' in mine
    assert f'value="pm:{gpt54.pk}" selected' in mine and f'value="pm:{audio.pk}">' in mine  # the general model first
    assert 'value="preset:openai:gpt-5.5"' in rest and "pm:" not in rest


# --- a run sends exactly what the column showed -----------------------------------------------------


def test_the_fitted_body_of_a_column_is_byte_for_byte_what_the_run_sends(client_logged_in, team, user, provider_server):
    gif = make_item(team, samples.gif_bytes(40, 30, frames=1), "still.gif")  # Gemini takes no GIF: a PNG copy
    doc = doc_with({"text": "What is in the picture?"}, {"media": {"item": gif.pk}})
    prompt = make_prompt(team, user=user, doc=doc)
    gemini = model_for(team, provider_server, "gemini", name="gemini-2.5-flash")
    settings = settings_with(columns=["gemini"], model_gemini=f"pm:{gemini.pk}")

    page = html.unescape(post(client_logged_in, prompt, doc, settings).content.decode())
    shown = b"".join(client_logged_in.get(reverse("prompts:body", args=[prompt.pk, "gemini"])).streaming_content)

    col = column_html(page, "gemini")
    assert "cannot send" not in col
    assert "changed: message 1 (user), part 2: image “still.gif”: image sent as a PNG copy" in col
    assert '"mimeType": "image/png"' in re.sub(r"<[^>]+>", "", col)

    version = prompt.versions.get()
    run = services.start_run(version=version, values={}, provider_models=[gemini], user=user, team=team)
    result = run.results.get()
    assert sending.execute(result.pk) == "recorded"
    result.refresh_from_db()
    assert result.status == Result.Status.SUCCEEDED, result.error_message
    sent = b"".join(services.result_body_iter(result))
    assert sent == shown
    assert json.loads(sent) == provider_server.received[-1].body
    # The run logs the change in the column's words.
    [change] = [r.message for r in render_previews(doc=doc, values=None, source=LibrarySource(team),
                                                   targets=columns_for(settings, team)).columns[0].remarks
                if r.kind == "change"]
    assert change in result.notes


def new_users_prompt(team, user):
    """Issue 9's check: 25 large photos (over 2000 px, which Anthropic refuses beyond 20 images),
    a variable left empty, and an assistant prefill ending in a space."""
    photos = [make_png(team, f"photo-{i}.png", width=2100 + i, height=24) for i in range(25)]
    parts = [{"text": "Compare these photos."}, {"text": "{{context}}"}, *({"media": {"item": p.pk}} for p in photos)]
    doc = doc_with(*parts, variables={"context": ""})
    doc["messages"].append({"role": "assistant", "parts": [{"text": "The photos show "}]})
    return make_prompt(team, user=user, doc=doc), doc


def test_a_new_users_prompt_previewed_for_configured_models_is_what_the_run_sends(client_logged_in, team, user,
                                                                                   provider_server):
    """Previewed for a configured Anthropic and a configured OpenAI model (the columns' defaults,
    being the team's): each column names what it changed, and the run sends exactly the bodies the
    columns showed. As a browser does it: the editor page (a GET, which makes no copy), then its POST
    asking for the copies, then the downloads."""
    prompt, doc = new_users_prompt(team, user)
    claude = model_for(team, provider_server, "messages", "claude-sonnet-4-5", provider_kw={"name": "Anthropic"})
    gpt = model_for(team, provider_server, "chat", "gpt-5.4", inputs=["image", "pdf"], provider_kw={"name": "OpenAI"})

    opened = html.unescape(client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode())
    assert 'name="refresh" value="pending"' in opened and "is being made" in column_html(opened, "messages")
    data = {**editor.form_data(doc, {}, None), "refresh": "pending"}
    page = html.unescape(client_logged_in.post(reverse("prompts:preview", args=[prompt.pk]), data, headers=HX).content.decode())
    downloads = {key: client_logged_in.get(reverse("prompts:body", args=[prompt.pk, key]) + "?version=1")
                 for key in ("chat", "messages")}

    anthropic, chat = column_html(page, "messages"), column_html(page, "chat")
    assert "cannot send" not in anthropic and "cannot send" not in chat, re.findall(r"remark-error.*?remark-msg\">(.*?)<", anthropic + chat, re.S)
    # More than 20 images: each sent as a copy of at most 2000 px, said per photo; OpenAI takes them as they are.
    assert anthropic.count("changed: ") == 25 and "“photo-0.png”: image sent as a copy scaled to at most 2000 px" in anthropic
    assert "changed: " not in chat
    assert "claude-sonnet-4-5 (Anthropic)" in anthropic and "gpt-5.4 (OpenAI)" in chat
    for col in (anthropic, chat):  # the part left empty by {{context}} is left out, and said so
        assert "message 1 (user), part 2" in col and "Text part left out" in col
    assert "Trailing whitespace trimmed from the final assistant turn" in anthropic
    shown = {key: b"".join(r.streaming_content) for key, r in downloads.items()}

    run = services.start_run(version=prompt.versions.get(), values={}, provider_models=[gpt, claude], user=user,
                             team=team)
    for result, key in zip(run.results.order_by("position"), ("chat", "messages"), strict=True):
        assert sending.execute(result.pk) == "recorded"
        result.refresh_from_db()
        assert result.status == Result.Status.SUCCEEDED, result.error_message
        assert b"".join(services.result_body_iter(result)) == shown[key]
    sent = json.loads(shown["messages"])
    assert sent["messages"][-1]["content"][-1]["text"] == "The photos show"  # the prefill's trailing space trimmed
    assert sum(1 for p in sent["messages"][0]["content"] if p["type"] == "image") == 25


def test_a_refusal_in_the_column_is_the_runs_refusal(client_logged_in, team, user, provider_server):
    prompt, doc = new_users_prompt(team, user)
    claude = model_for(team, provider_server, "messages", "claude-sonnet-4-6", provider_kw={"name": "Anthropic"})

    page = html.unescape(client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode())
    run = services.start_run(version=prompt.versions.get(), values={}, provider_models=[claude], user=user, team=team)

    col = column_html(page, "messages")
    result = run.results.get()
    assert "cannot send" in col and "does not take a prefill" in col  # Claude 4.6 rejects a prefill
    assert result.status == Result.Status.REFUSED and "does not take a prefill" in result.error_message
    assert result.error_message in col


def test_a_configured_column_offers_no_clamping_a_run_would_not_do(client_logged_in, team, user, provider_server):
    doc = doc_with({"text": "Hi"}, options={"temperature": 1.7})
    prompt = make_prompt(team, user=user, doc=doc)
    claude = model_for(team, provider_server, "messages", "claude-sonnet-4-5", provider_kw={"name": "Anthropic"})

    page = html.unescape(post(client_logged_in, prompt, doc, settings_with(
        columns=["messages"], model_messages=f"pm:{claude.pk}")).content.decode())
    mine = column_html(page, "messages")
    # The remark on the options says the same, not that it is "not offered for a media variable's value".
    assert "(a run of your model sends the prompt as it is: set a value in range)" in page
    assert "not offered for a media variable" not in page
    preset = html.unescape(column_html(post(client_logged_in, prompt, doc, settings_with(
        columns=["messages"], model_messages="preset:anthropic:claude-sonnet-4-6")).content.decode(), "messages"))

    assert "cannot send" in mine and 'value="option:clamp_temperature"' not in mine
    assert "a run of your model sends the prompt as it is" in mine
    assert 'value="option:clamp_temperature"' in preset  # a preview setting, for presets
    run = services.start_run(version=prompt.versions.get(), values={}, provider_models=[claude], user=user, team=team)
    assert run.results.get().status == Result.Status.REFUSED  # as the column said


def test_a_per_target_fallback_reaches_the_column_and_the_run_of_that_target_only(team, user, provider_server):
    clip = make_item(team, samples.mp4_bytes(seconds=2.0, width=64, height=48, fps=10), "clip.mp4")
    doc = doc_with({"text": "What happens?"}, {"media": {"item": clip.pk}, "variant_for": {"chat": {"frames": 3}}})
    prompt = make_prompt(team, user=user, doc=doc)
    chat = model_for(team, provider_server, "chat", "gpt-5.4", inputs=["image", "pdf"])
    gemini = model_for(team, provider_server, "gemini", "gemini-2.5-flash")
    settings = settings_with(columns=["chat", "gemini"], model_chat=f"pm:{chat.pk}", model_gemini=f"pm:{gemini.pk}")

    cols = render_previews(doc=prompt.versions.get().content, values=None, source=LibrarySource(team),
                           targets=columns_for(settings, team)).columns
    checks = services.preflight(version=prompt.versions.get(), values={}, provider_models=[chat, gemini], team=team)

    by_key = {c.key: c for c in cols}
    assert by_key["chat"].ok and not by_key["chat"].changes  # the document's own choice for Chat, not a fit
    assert by_key["chat"].display.count('"type": "image_url"') == 3
    assert by_key["gemini"].ok and "video/mp4" in by_key["gemini"].display
    for check, key in zip(checks, ("chat", "gemini"), strict=True):
        assert check.ok and not check.applied
        assert check.rendered.body_bytes() == by_key[key].rendered.body_bytes()


def test_a_configured_model_without_a_key_says_so_in_its_column(team, provider_server):
    keyless = make_model(make_provider(team, protocol="messages", name="Anthropic"), "claude-sonnet-4-5")
    keyed = model_for(team, provider_server, "chat", "gpt-5.4", inputs=["image", "pdf"])
    settings = settings_with(columns=["chat", "messages"], model_chat=f"pm:{keyed.pk}", model_messages=f"pm:{keyless.pk}")

    chat, messages = render_previews(doc=doc_with({"text": "Hi"}), values=None, source=LibrarySource(team),
                                     targets=columns_for(settings, team)).columns

    [notice] = [r for r in messages.warnings if r.kind == "setup"]
    assert notice.message == ("Anthropic's key: no key. A run of this model is refused until it has one: "
                              "set it on the provider's page.")
    assert messages.ok  # the body is right; only the key is missing
    assert not [r for r in chat.remarks if r.kind == "setup"]
    [check] = services.preflight(version=make_version(team, doc_with({"text": "Hi"})), values={},
                                 provider_models=[keyless], team=team)
    assert not check.ok and check.key_problem  # the run refuses, as the column warned


def test_every_change_listed_is_in_the_body_even_when_the_rounds_run_out(team, monkeypatch):
    from playground.prompts import fitting
    from playground.protocols import Target

    monkeypatch.setattr(fitting, "MAX_ROUNDS", 1)
    gif = make_item(team, samples.gif_bytes(40, 30, frames=1), "still.gif")

    fitted = fitting.fit(doc_with({"text": "What is it?"}, {"media": {"item": gif.pk}}), None, LibrarySource(team),
                         Target("gemini", "gemini-2.5-flash"))

    [change] = fitted.changes
    assert "PNG copy" in change.text
    assert fitted.rendered.ok and "image/png" in fitted.rendered.display() and "image/gif" not in fitted.rendered.display()


def test_the_document_is_built_once_for_columns_that_get_the_same_document(team, png, monkeypatch):
    from playground.prompts import previews

    builds = []
    real = previews.build_prompt
    monkeypatch.setattr(previews, "build_prompt", lambda doc, *a, **kw: builds.append(doc) or real(doc, *a, **kw))
    plain = doc_with({"text": "Hi"}, {"media": {"item": png.pk}})
    per_target = doc_with({"text": "Hi"}, {"media": {"item": png.pk}, "variant_for": {"messages": {"max_edge": 32}}})

    render_previews(doc=plain, values=None, source=LibrarySource(team), targets=columns_for(PreviewSettingsForm.defaults()))
    assert len(builds) == 1
    builds.clear()
    cols = render_previews(doc=per_target, values=None, source=LibrarySource(team),
                           targets=columns_for(PreviewSettingsForm.defaults())).columns
    assert len(builds) == 2  # Anthropic's own document, and the one the three others share
    [image] = [s.media for s in cols[2].rendered.sent if s.media is not None]
    assert max(image.width, image.height) == 32
    assert all(s.media.width == png.width for c in cols if c.key != "messages" for s in c.rendered.sent if s.media)


def test_opening_the_editor_makes_no_copy_the_page_asks_for_it_by_post(client_logged_in, team, user, provider_server):
    """A GET writes nothing (tests/prompts/test_get_writes_nothing.py): a configured column that needs a
    copy says it is being made, and the page asks by POST (refresh=pending), which makes it and saves
    no draft; the download, a GET, then finds it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from playground.prompts.models import PromptDraft
    from playground.uploads.models import MediaVariant

    gif = make_item(team, samples.gif_bytes(40, 30, frames=1), "still.gif")  # Gemini takes no GIF: a PNG copy
    doc = doc_with({"text": "What is in the picture?"}, {"media": {"item": gif.pk}})
    prompt = make_prompt(team, user=user, doc=doc)
    gemini = model_for(team, provider_server, "gemini", name="gemini-2.5-flash")
    settings = settings_with(columns=["gemini"], model_gemini=f"pm:{gemini.pk}")
    post(client_logged_in, prompt, doc, settings)  # the user's draft holds the settings
    MediaVariant.objects.all().delete()  # as if the copy had never been made (or was pruned)
    drafts = list(PromptDraft.objects.values_list("pk", "updated_at"))

    with CaptureQueriesContext(connection) as queries:
        page = html.unescape(client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode())
    writes = [q["sql"] for q in queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.IGNORECASE)]
    assert writes == [] and not MediaVariant.objects.exists()
    assert "“still.gif”: a PNG copy is being made" in column_html(page, "gemini")
    assert 'name="refresh" value="pending"' in page and 'hx-trigger="load"' in page

    data = {**editor.form_data(doc, {}, settings), "refresh": "pending"}
    refreshed = html.unescape(client_logged_in.post(reverse("prompts:preview", args=[prompt.pk]), data, headers=HX).content.decode())
    assert MediaVariant.objects.filter(status=MediaVariant.Status.READY).count() == 1
    assert "being made" not in refreshed and 'value="pending"' not in refreshed
    assert "changed: message 1 (user), part 2: image “still.gif”: image sent as a PNG copy" in column_html(refreshed, "gemini")
    assert list(PromptDraft.objects.values_list("pk", "updated_at")) == drafts  # nothing typed: no draft saved
    body = client_logged_in.get(reverse("prompts:body", args=[prompt.pk, "gemini"]))
    assert body.status_code == 200 and b'"mimeType":"image/png"' in b"".join(body.streaming_content)
