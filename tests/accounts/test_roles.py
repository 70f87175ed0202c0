"""What each role may do, checked across the apps: a viewer changes nothing anywhere (prompts,
media, runs, providers, members); promoted to editor they change prompts, media and runs, but
still not providers or members; only owners manage those."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from playground.accounts.models import Membership
from playground.catalog.models import Provider, ProviderModel
from playground.prompts import editor
from playground.prompts.document import normalize
from playground.prompts.models import Prompt, PromptVersion
from playground.runs.models import Run
from playground.uploads.models import MediaItem
from tests import media_samples as samples
from tests.conftest import HX
from tests.factories import make_model, make_png, make_prompt, make_provider


def doc(system="Be brief."):
    return normalize({"name": "Caption", "system": system, "variables": {},
                      "messages": [{"role": "user", "parts": [{"text": "Describe the picture."}]}]})


@pytest.fixture
def world(team, owner):
    item = make_png(team, "seen.png", user=owner)
    prompt = make_prompt(team, "Caption", user=owner, doc=doc())
    prompt.save_version(doc("Second."), user=owner)
    provider = make_provider(team, name="P", base_url="https://api.example.invalid/v1", key="sk-roles-0000")
    model = make_model(provider, "gpt-4o")
    return {"item": item, "prompt": prompt, "provider": provider, "model": model}


def counts() -> dict:
    return {"items": MediaItem.objects.count(), "prompts": Prompt.objects.count(),
            "versions": PromptVersion.objects.count(), "runs": Run.objects.count(),
            "providers": list(Provider.objects.values_list("name", "timeout_s")),
            "models": list(ProviderModel.objects.values_list("name", "enabled")),
            "members": list(Membership.objects.values_list("user__username", "role"))}


def content_writes(w) -> list[tuple[str, str, dict]]:
    """POSTs that change the team's prompts, media or runs (an editor's job)."""
    p = w["prompt"]
    return [
        ("prompts:create", reverse("prompts:create"), {"name": "New one"}),
        ("prompts:save", reverse("prompts:save", args=[p.pk]), editor.form_data(doc("Changed."), {})),
        ("prompts:restore", reverse("prompts:restore", args=[p.pk, 1]), {}),
        ("prompts:import", reverse("prompts:import"),
         {"file": SimpleUploadedFile("p.json", b'{"system": "x", "messages": []}', "application/json")}),
        ("uploads:upload", reverse("uploads:upload"),
         {"file": SimpleUploadedFile("new.png", samples.png_bytes(20, 10), "image/png")}),
        ("uploads:delete", reverse("uploads:delete", args=[w["item"].pk]), {}),
        ("runs:start", reverse("runs:start", args=[p.pk]), {"version": "2", "models": [str(w["model"].pk)]}),
    ]


def owner_writes(w) -> list[tuple[str, str, dict]]:
    """POSTs that change providers, keys, models or members (an owner's job)."""
    return [
        ("catalog:edit", reverse("catalog:edit", args=[w["provider"].pk]),
         {"name": "P", "protocol": "chat", "base_url": "https://api.example.invalid/v1", "key_source": "stored",
          "api_key": "sk-stolen-1111", "max_concurrency": "4", "timeout_s": "5"}),
        ("catalog:model_toggle", reverse("catalog:model_toggle", args=[w["model"].pk]), {}),
        ("catalog:delete", reverse("catalog:delete", args=[w["provider"].pk]), {}),
        ("accounts:invite_create", reverse("accounts:invite_create", args=[w["prompt"].team_id]),
         {"role": "owner", "max_uses": "5", "days": "7"}),
    ]


def test_a_viewer_sees_everything_and_changes_nothing(client, viewer, world):
    client.force_login(viewer)
    prompt = world["prompt"]

    for url in (reverse("prompts:list"), reverse("prompts:edit", args=[prompt.pk]), reverse("uploads:library"),
                reverse("catalog:list"), reverse("runs:list"), reverse("accounts:team")):
        assert client.get(url).status_code == 200, url
    listing = client.get(reverse("prompts:list")).content.decode()
    assert "Caption" in listing and "New prompt" not in listing and "Import a prompt" not in listing
    edit_page = client.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()
    assert 'id="save-version"' not in edit_page

    before = counts()
    for name, url, data in content_writes(world) + owner_writes(world):
        response = client.post(url, data, headers=HX)
        assert response.status_code == 403, (name, response.status_code)
    assert counts() == before
    assert not prompt.versions.filter(content__system="Changed.").exists()


def test_an_editor_changes_content_but_not_providers_or_members(client, user, world):
    client.force_login(user)
    before = counts()
    for name, url, data in owner_writes(world):
        assert client.post(url, data, headers=HX).status_code == 403, name
    assert counts() == before

    response = client.post(reverse("prompts:save", args=[world["prompt"].pk]),
                           editor.form_data(doc("Changed."), {}), headers=HX)
    assert response.status_code == 200 and "Saved as v3." in response.content.decode()
    assert client.post(reverse("uploads:delete", args=[world["item"].pk])).status_code == 302
    assert not MediaItem.objects.filter(pk=world["item"].pk).exists()


def test_promoting_a_viewer_lets_them_edit_and_removing_them_ends_access(owner_client, viewer, world, team):
    prompt = world["prompt"]
    save = reverse("prompts:save", args=[prompt.pk])
    viewer_client = Client()
    viewer_client.force_login(viewer)
    assert viewer_client.post(save, editor.form_data(doc("By the viewer."), {}), headers=HX).status_code == 403

    membership = Membership.objects.get(user=viewer, team=team)
    owner_client.post(reverse("accounts:member_role", args=[membership.pk]), {"role": "editor"})
    response = viewer_client.post(save, editor.form_data(doc("By the viewer."), {}), headers=HX)
    assert response.status_code == 200 and prompt.versions.filter(content__system="By the viewer.").exists()

    owner_client.post(reverse("accounts:member_remove", args=[membership.pk]))
    assert viewer_client.get(reverse("prompts:edit", args=[prompt.pk])).status_code == 404
    assert viewer_client.post(save, editor.form_data(doc("After."), {}), headers=HX).status_code == 404
    assert viewer_client.get(reverse("prompts:list")).status_code == 403  # no team at all now
