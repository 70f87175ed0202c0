"""No GET of the prompts app writes: every URL is fetched with the queries captured, and none may
INSERT, UPDATE or DELETE. The world includes a draft that follows a newer version (the case that
once wrote on opening the editor)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from playground.prompts import editor, urls
from playground.prompts.document import normalize
from playground.prompts.models import PromptDraft
from playground.prompts.previews import COLUMN_KEYS
from tests.conftest import HX
from tests.factories import make_prompt

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def doc(text, item=None):
    parts = [{"text": text}] + ([{"media": {"item": item.pk}}] if item else [])
    return normalize({"name": "Caption", "system": "", "messages": [{"role": "user", "parts": parts}],
                      "variables": {}, "options": {}})


@pytest.fixture
def world(client_logged_in, team, user, png):
    prompt = make_prompt(team, "Caption", user=user, doc=doc("First", png), media_items=[png])
    # An untouched draft of v1, then a newer version: the editor shows the draft following v2.
    client_logged_in.post(reverse("prompts:preview", args=[prompt.pk]), editor.form_data(doc("First", png), {png.pk: png}),
                          headers=HX)
    prompt.save_version(doc("Second", png), media_items=[png], user=None)
    return prompt


def gets(prompt, png) -> dict[str, list[str]]:
    """Every URL of the prompts app by name, with the GETs to try on it."""
    one = {"prompt_id": prompt.pk}
    body = [reverse("prompts:body", kwargs={**one, "column": c}) for c in COLUMN_KEYS]
    return {
        "list": [reverse("prompts:list")],
        "create": [reverse("prompts:create")],
        "import": [reverse("prompts:import")],
        "edit": [reverse("prompts:edit", kwargs=one)],
        "preview": [reverse("prompts:preview", kwargs=one)],
        "action": [reverse("prompts:action", kwargs=one)],
        "save": [reverse("prompts:save", kwargs=one)],
        "discard": [reverse("prompts:discard", kwargs=one)],
        "picker": [reverse("prompts:picker", kwargs=one), reverse("prompts:picker", kwargs=one) + "?kind=image&q=photo"],
        "upload": [reverse("prompts:upload", kwargs=one)],
        "body": [*body, body[0] + "?version=1", body[0] + "?inline=1", body[1] + "?version=x"],
        "versions": [reverse("prompts:versions", kwargs=one)],
        "diff": [reverse("prompts:diff", kwargs=one) + "?a=1&b=2&view=text", reverse("prompts:diff", kwargs=one) + "?a=1&b=2&view=json"],
        "restore": [reverse("prompts:restore", kwargs={**one, "number": 1})],
        "export": [reverse("prompts:export", kwargs={**one, "number": 1})],
    }


def test_every_get_of_the_prompts_app_writes_nothing(client_logged_in, world, png):
    urls_by_name = gets(world, png)
    assert set(urls_by_name) == {p.name for p in urls.urlpatterns}, "a new URL of the prompts app: add its GETs here"
    draft_before = PromptDraft.objects.values().get()

    answered = {}
    for paths in urls_by_name.values():
        for path in paths:
            for headers in ({}, HX):
                with CaptureQueriesContext(connection) as queries:
                    response = client_logged_in.get(path, headers=headers)
                    if response.streaming:  # a body is read as it is sent
                        b"".join(response.streaming_content)
                writes = [q["sql"] for q in queries.captured_queries if WRITE.match(q["sql"])]
                assert not writes, f"GET {path} wrote: {writes}"
                answered[path] = response.status_code

    # The GETs did their work (the POST-only URLs refuse GET), and the draft is as it was.
    edit, body = reverse("prompts:edit", args=[world.pk]), reverse("prompts:body", args=[world.pk, "chat"])
    assert answered[edit] == 200 and answered[body] == 200 and answered[body + "?version=1"] == 200
    assert answered[reverse("prompts:save", args=[world.pk])] == 405
    assert PromptDraft.objects.values().get() == draft_before


def test_opening_the_editor_shows_the_draft_following_the_newer_version_without_writing_it(client_logged_in, world):
    page = client_logged_in.get(reverse("prompts:edit", args=[world.pk])).content.decode()
    body = b"".join(client_logged_in.get(reverse("prompts:body", args=[world.pk, "chat"])).streaming_content).decode()

    assert "Second" in page and "First" not in page and 'data-dirty="false"' in page
    assert 'name="base" value="2"' in page  # the page sends it back: its first post writes the follow
    assert "Second" in body and "First" not in body
    assert PromptDraft.objects.get().base_number == 1
