"""Forking a shared prompt into one of the visitor's teams: the version's document as the fork's
first version, its media the team's own items (deduplicated by content), the origin recorded."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from playground.prompts.document import media_refs
from playground.prompts.models import Prompt
from playground.sharing.models import ForkOrigin, ShareLink
from playground.uploads.models import MediaItem, StoredFile
from tests.factories import logged_in, make_png, make_share_link
from tests.sharing.conftest import World


def fork(client, token, team) -> object:
    return client.post(reverse("sharing:fork", args=[token]), {"team": str(team.pk)})


def test_a_fork_copies_the_version_and_its_media_into_the_visitors_team(world: World):
    link, token = make_share_link(world.prompt, version=world.v2, user=world.owner)
    blobs = StoredFile.objects.count()

    response = fork(logged_in(world.outsider), token, world.team_b)

    forked = Prompt.objects.get(team=world.team_b)
    assert response.status_code == 302 and response["Location"] == reverse("prompts:edit", args=[forked.pk])
    assert forked.name == "Shared caption" and forked.created_by == world.outsider
    version = forked.latest_version()
    assert version.number == 1
    items = {i.pk: i for i in MediaItem.objects.filter(team=world.team_b).exclude(pk=world.other_team_image.pk)}
    assert len(items) == 2
    by_sha = {i.sha256: i for i in items.values()}
    for source in (world.image, world.audio):
        copy = by_sha[source.sha256]
        # The team's own row, the same stored bytes and thumbnail (nothing stored twice), the same findings.
        assert copy.pk != source.pk and copy.team == world.team_b and copy.created_by == world.outsider
        assert copy.file_id == source.file_id and copy.thumbnail_id == source.thumbnail_id
        assert (copy.name, copy.kind, copy.mime_type, copy.width, copy.duration_s) == (
            source.name, source.kind, source.mime_type, source.width, source.duration_s)
    assert StoredFile.objects.count() == blobs
    # Each reference now names the team's copy; everything else is the shared version's document.
    refs = media_refs(version.content)
    assert refs == [{"item": by_sha[world.image.sha256].pk}, {"item": by_sha[world.audio.sha256].pk}]
    assert set(version.media_items.values_list("pk", flat=True)) == set(items)
    stripped = {**version.content, "messages": [], "variables": version.content["variables"]}
    assert stripped["system"] == world.v2.content["system"] and version.content["options"] == {"max_tokens": 300}
    assert [p.get("text") for p in version.content["messages"][0]["parts"]] == [
        p.get("text") for p in world.v2.content["messages"][0]["parts"]]
    origin = ForkOrigin.objects.get(prompt=forked)
    assert (origin.source_prompt, origin.source_version, origin.link, origin.source_name, origin.source_number,
            origin.forked_by) == (world.prompt, world.v2, link, "Shared caption", 2, world.outsider)
    # The source is untouched.
    assert world.prompt.versions.count() == 2 and MediaItem.objects.filter(team=world.team).count() == 3


def test_the_fork_opens_in_the_editor_and_its_history_says_where_it_came_from(world: World):
    link, token = make_share_link(world.prompt, user=world.owner)
    client = logged_in(world.outsider)
    response = fork(client, token, world.team_b)
    forked = Prompt.objects.get(team=world.team_b)

    editor = client.get(response["Location"])
    assert editor.status_code == 200
    assert "Forked “Shared caption” v2 into Bob" in editor.content.decode()
    history = client.get(reverse("prompts:versions", args=[forked.pk])).content.decode()
    assert "Forked from <strong>Shared caption</strong> v2" in history
    # ...without a way into the other team.
    assert f"/prompts/{world.prompt.pk}/" not in history and "/s/" + link.token_hint not in history


def test_media_the_team_already_holds_are_reused_not_copied(world: World):
    mine = make_png(world.team_b, "my-own-name.png", width=80, height=60, user=world.outsider)  # the same bytes
    assert mine.sha256 == world.image.sha256
    link, token = make_share_link(world.prompt, version=world.v1, user=world.owner)  # v1: that image only
    before = MediaItem.objects.filter(team=world.team_b).count()

    fork(logged_in(world.outsider), token, world.team_b)
    fork(logged_in(world.outsider), token, world.team_b)  # twice: still no second copy

    assert MediaItem.objects.filter(team=world.team_b).count() == before
    for forked in Prompt.objects.filter(team=world.team_b):
        assert media_refs(forked.latest_version().content) == [{"item": mine.pk}]


def test_forking_needs_the_editor_role_in_the_target_team(world: World):
    link, token = make_share_link(world.prompt, user=world.owner)
    client = logged_in(world.outsider)
    prompts, items = Prompt.objects.count(), MediaItem.objects.count()

    viewer_team = fork(client, token, world.team_c)  # a viewer there
    not_mine = fork(client, token, world.team)  # not a member
    nonsense = client.post(reverse("sharing:fork", args=[token]), {"team": "x" * 500})
    anonymous = fork(Client(), token, world.team_b)

    assert viewer_team.status_code == 403 and "read-only" in viewer_team.content.decode()
    assert not_mine.status_code == 404
    assert nonsense.status_code == 400
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("accounts:login"))
    assert (Prompt.objects.count(), MediaItem.objects.count()) == (prompts, items)
    assert not ForkOrigin.objects.exists()


def test_a_revoked_link_cannot_be_forked(world: World):
    link, token = make_share_link(world.prompt, user=world.owner)
    ShareLink.objects.filter(pk=link.pk).update(revoked_at="2020-01-01T00:00:00Z")

    assert fork(logged_in(world.outsider), token, world.team_b).status_code == 404
    assert not Prompt.objects.filter(team=world.team_b).exists()


def test_a_member_may_fork_into_their_own_team_and_keeps_the_same_items(world: World):
    link, token = make_share_link(world.prompt, user=world.owner)
    items = MediaItem.objects.filter(team=world.team).count()

    assert fork(logged_in(world.editor), token, world.team).status_code == 302

    forked = Prompt.objects.filter(team=world.team, fork_origin__isnull=False).get()
    assert media_refs(forked.latest_version().content) == [{"item": world.image.pk}, {"item": world.audio.pk}]
    assert MediaItem.objects.filter(team=world.team).count() == items


def test_a_url_reference_is_forked_as_a_reference_of_the_team(world: World):
    from tests.factories import doc_with, make_prompt

    fields = {f.attname: getattr(world.image, f.attname) for f in MediaItem._meta.concrete_fields
              if f.attname not in ("id", "created_at")}
    reference = MediaItem.objects.create(**{**fields, "source": MediaItem.Source.URL_REFERENCE, "file_id": None,
                                            "source_url": "https://cdn.example.org/cat.png", "name": "cdn-cat.png"})
    prompt = make_prompt(world.team, "By URL", user=world.owner, media_items=[reference],
                         doc=doc_with({"media": {"item": reference.pk}, "send": "url"}, name="By URL"))
    _, token = make_share_link(prompt, user=world.owner)

    fork(logged_in(world.outsider), token, world.team_b)
    fork(logged_in(world.outsider), token, world.team_b)

    copies = MediaItem.objects.filter(team=world.team_b, source=MediaItem.Source.URL_REFERENCE)
    assert copies.count() == 1  # the second fork reuses it
    copy = copies.get()
    assert (copy.file_id, copy.source_url, copy.sha256) == (None, "https://cdn.example.org/cat.png", world.image.sha256)
    for forked in Prompt.objects.filter(team=world.team_b):
        part = forked.latest_version().content["messages"][0]["parts"][0]
        assert part == {"media": {"item": copy.pk}, "send": "url"}
