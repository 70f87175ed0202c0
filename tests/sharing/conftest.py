"""A team that shares a prompt, and the people and things a share link must never show.

Every secret of the sharing team (its provider's name, base URL and key, its other prompt and
media, its members' names) is in ``World.secrets``: the shared page and its media must contain
none of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.cache import cache

from playground.accounts.models import Membership
from tests.factories import doc_with, make_member, make_model, make_png, make_prompt, make_provider, make_team, make_wav

KEY = "sk-share-secret-KEY-5b1e7d"
BASE_URL = "https://llm.internal-share.example/v1"


@dataclass
class World:
    team: object
    owner: object
    editor: object
    viewer: object
    outsider: object  # editor of team_b, viewer of team_c, nothing in team
    team_b: object
    team_c: object
    image: object
    audio: object
    private_image: object  # team's, in no shared prompt
    other_team_image: object  # team_b's
    prompt: object
    v1: object
    v2: object
    other_prompt: object
    run: object
    result: object
    secrets: list[str] = field(default_factory=list)


def _run(team, version, user, *, output: str):
    from playground.runs.models import Result, Run

    run = Run.objects.create(team=team, prompt_version=version, values={"subject": "a tabby cat"},
                             status=Run.Status.DONE, created_by=user)
    result = Result.objects.create(
        run=run, position=0, provider_name="Secret Provider Co", protocol="chat", model_name="gpt-share-test",
        url=f"{BASE_URL}/chat/completions", status=Result.Status.SUCCEEDED, output_text=output,
        input_tokens=1234, output_tokens=56, total_tokens=1290, cost_usd=Decimal("0.0042"),
        latency_total_ms=987, latency_first_byte_ms=321, finish_reason="stop",
        request_headers={"Authorization": "Bearer sk-…masked"}, error_message="")
    return run, result


@pytest.fixture
def world(db) -> World:
    cache.clear()  # the previews' cache is per process; ids repeat between tests
    team = make_team(name="Acme Secret Team")
    owner = make_member(team, Membership.Role.OWNER, username="olivia_owner_share")
    editor = make_member(team, Membership.Role.EDITOR, username="eddie_editor_share")
    viewer = make_member(team, Membership.Role.VIEWER, username="vera_viewer_share")
    team_b = make_team(name="Bob's Team")
    team_c = make_team(name="Carol's Team")
    outsider = make_member(team_b, Membership.Role.EDITOR, username="bob_outsider")
    team_c.add_member(outsider, Membership.Role.VIEWER)

    image = make_png(team, "cat-photo.png", width=80, height=60, user=owner)
    audio = make_wav(team, "purr.wav", seconds=0.5, user=owner)
    private_image = make_png(team, "private-roadmap.png", width=30, height=30, user=owner)
    other_team_image = make_png(team_b, "bobs-own.png", width=20, height=22, user=outsider)

    provider = make_provider(team, name="Secret Provider Co", base_url=BASE_URL, key=KEY)
    make_model(provider, "secret-model-x")

    doc1 = doc_with({"text": "Describe {{subject}}."}, {"media": {"item": image.pk}},
                    variables={"subject": "a cat"}, system="You are terse.", name="Shared caption")
    prompt = make_prompt(team, "Shared caption", user=owner, doc=doc1, media_items=[image])
    v1 = prompt.latest_version()
    doc2 = doc_with({"text": "Describe {{subject}} and the sound."}, {"media": {"item": image.pk}},
                    {"media": {"item": audio.pk}}, variables={"subject": "a tabby cat"},
                    system="You are a careful listener.", options={"max_tokens": 300}, name="Shared caption")
    v2 = prompt.save_version(doc2, media_items=[image, audio], user=owner)
    other_prompt = make_prompt(team, "Private roadmap prompt", user=owner,
                               doc=doc_with({"media": {"item": private_image.pk}}, name="Private roadmap prompt"),
                               media_items=[private_image])
    run, result = _run(team, v2, owner, output="**A tabby** cat <script>alert('x')</script>")
    secrets = [KEY, "llm.internal-share.example", "Secret Provider Co", "secret-model-x", "Private roadmap",
               "private-roadmap.png", "bobs-own.png", "olivia_owner_share", "eddie_editor_share",
               "vera_viewer_share", "Acme Secret Team", "/prompts/", "/library/", "/runs/", "/providers/"]
    return World(team=team, owner=owner, editor=editor, viewer=viewer, outsider=outsider, team_b=team_b,
                 team_c=team_c, image=image, audio=audio, private_image=private_image,
                 other_team_image=other_team_image, prompt=prompt, v1=v1, v2=v2, other_prompt=other_prompt,
                 run=run, result=result, secrets=secrets)
