"""The demo data command (playground/demo): what bin/run seeds so a newcomer sees something at once."""

import time
from io import StringIO

from django.core.management import call_command
from django.urls import reverse

from playground.accounts.models import Membership, Team
from playground.uploads.models import MediaItem

LIBRARY = "/library/"


def test_seed_demo_creates_a_team_user_and_media_and_can_run_again(client, db, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    out = StringIO()
    call_command("seed_demo", stdout=out)

    assert "Log in as  user: demo   password: prism-demo" in out.getvalue()
    team = Team.objects.get(slug="demo")
    assert team.role_of(team.memberships.get().user) == Membership.Role.OWNER
    kinds = set(MediaItem.objects.filter(team=team).values_list("kind", flat=True))
    assert kinds == {"image", "audio", "video", "pdf"}
    count = MediaItem.objects.count()

    # bin/run seeds on every start, seconds or days apart: the demo bytes must not depend on the
    # clock (e.g. a PDF's CreationDate), or each start would add duplicates. Cross a second boundary.
    time.sleep(1.01 - time.time() % 1)
    again = StringIO()
    call_command("seed_demo", stdout=again)

    assert MediaItem.objects.count() == count, sorted(MediaItem.objects.values_list("name", flat=True))
    assert Team.objects.filter(slug="demo").count() == 1
    assert "password unchanged" in again.getvalue()
    # The printed login works.
    # Through the login form: the axes backend counts attempts per request, so client.login() has none.
    logged_in = client.post(reverse("accounts:login"), {"username": "demo", "password": "prism-demo"})
    assert logged_in.status_code == 302 and logged_in.url == reverse("uploads:library")
    assert client.get(LIBRARY).status_code == 200
    # A demo prompt using the demo picture and sound, saved once, whose previews render.
    from playground.prompts.models import Prompt

    prompt = Prompt.objects.get(team=team)
    assert prompt.versions.count() == 1
    assert {i.name for i in prompt.versions.get().media_items.all()} == {"three-shapes.jpg", "c-major-arpeggio.wav"}
    editor = client.get(f"/prompts/{prompt.pk}/")
    assert editor.status_code == 200
    assert "Anthropic Messages has no audio block" in editor.content.decode()
