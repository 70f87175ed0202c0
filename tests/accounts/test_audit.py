"""The audit list: every change of membership, provider or key is recorded (who, what, when, which
team, a plain summary), never with a key in it, and only owners see it."""

import json

import pytest
from django.urls import reverse

from playground.accounts import audit, services
from playground.accounts.models import AuditEvent, Membership
from playground.catalog.models import Provider, ProviderModel
from tests.factories import make_invite, make_member, make_model, make_provider, make_team, make_user

TEAM = "/accounts/team/"
KEY = "sk-audit-secret-0123456789abcdef"
NEW_KEY = "sk-audit-second-fedcba9876543210"


def provider_post(**overrides):
    data = {"name": "Gateway", "protocol": "compatible", "base_url": "https://gateway.example/v1", "api_version": "",
            "key_source": "stored", "api_key": "", "api_key_env": "", "max_concurrency": "8", "timeout_s": "120",
            "notes": ""}
    return {**data, **overrides}


def actions(team) -> list[str]:
    return list(AuditEvent.objects.filter(team=team).order_by("created_at", "pk").values_list("action", flat=True))


def everything_stored() -> str:
    """Every audit row, field by field, as text: where a key must never be."""
    return json.dumps(list(AuditEvent.objects.values()), default=str)


# --- membership ---------------------------------------------------------------------------------------


def test_every_membership_change_is_recorded_with_who_what_and_which_team(client, owner, team):
    other = make_team(name="Elsewhere")
    bob, carol = make_user(username="bob"), make_user(username="carol")
    invite, token = make_invite(team, owner, max_uses=2)
    services.revoke_invite(invite=invite, actor=owner)
    _, token = make_invite(team, owner)
    services.accept_invite(token=token, user=bob)
    services.add_member(team=team, actor=owner, username="carol", role="viewer")
    services.change_role(membership=Membership.objects.get(user=carol, team=team), actor=owner, role="editor")
    services.remove_member(membership=Membership.objects.get(user=carol, team=team), actor=owner)
    services.leave(team=team, user=bob)
    created = services.create_team(user=bob, name="Bob's")

    assert actions(team) == ["invite_created", "invite_revoked", "invite_created", "invite_accepted", "member_added",
                             "role_changed", "member_removed", "member_left"]
    assert actions(created) == ["team_created"]
    assert actions(other) == []
    by = dict(AuditEvent.objects.filter(team=team).values_list("action", "actor__username"))
    assert by == {"invite_created": "olivia", "invite_revoked": "olivia", "invite_accepted": "bob",
                  "member_added": "olivia", "role_changed": "olivia", "member_removed": "olivia", "member_left": "bob"}
    summaries = list(AuditEvent.objects.filter(team=team).order_by("pk").values_list("summary", flat=True))
    assert summaries[-3:] == ["olivia made carol editor (was viewer).", "olivia removed carol (editor).", "bob left the team."]
    assert token not in everything_stored()


def test_a_refused_change_records_nothing(owner, team):
    with pytest.raises(services.Refused):
        services.leave(team=team, user=owner)
    with pytest.raises(services.Refused):
        services.change_role(membership=Membership.objects.get(user=owner), actor=owner, role="viewer")
    assert actions(team) == []


def test_record_refuses_a_detail_named_like_a_secret_and_an_unknown_action(team, owner):
    for name in ("api_key", "key", "token", "password", "secret_value"):
        with pytest.raises(ValueError, match="never hold secrets"):
            audit.record(team, owner, AuditEvent.Action.KEY_SET, "x", **{name: "sk-1"})
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(team, owner, "coffee_made", "x")
    assert not AuditEvent.objects.exists()


def test_the_actor_name_survives_the_user(team, owner):
    event = audit.record(team, owner, AuditEvent.Action.TEAM_CREATED, "made")
    make_member(team, Membership.Role.OWNER)
    owner.delete()
    event.refresh_from_db()
    assert event.actor is None and event.actor_name == "olivia"


# --- providers, keys and models (catalog) ---------------------------------------------------------------


def test_provider_and_key_changes_are_recorded_and_no_key_is_ever_stored_or_shown(owner_client, team):
    owner_client.post(reverse("catalog:create"), provider_post(api_key=KEY))
    provider = Provider.objects.get(team=team)
    assert actions(team) == ["provider_created", "key_set"]

    url = reverse("catalog:edit", args=[provider.pk])
    owner_client.post(url, provider_post(api_key=NEW_KEY, timeout_s="30"))
    assert actions(team)[2:] == ["provider_changed", "key_replaced"]
    assert AuditEvent.objects.get(action="provider_changed").summary == "olivia changed the timeout of Gateway."

    owner_client.post(url, provider_post(remove_key="on", timeout_s="30"))
    assert actions(team)[4:] == ["key_removed"]
    provider.refresh_from_db()
    assert not provider.api_key_encrypted

    owner_client.post(url, provider_post(api_key=KEY, timeout_s="30"))  # set again, then switched off
    owner_client.post(url, provider_post(key_source="none", timeout_s="30"))
    assert actions(team)[5:] == ["key_set", "provider_changed", "key_removed"]

    owner_client.post(reverse("catalog:delete", args=[provider.pk]))
    assert actions(team)[-1] == "provider_deleted"

    stored = everything_stored()
    page = owner_client.get(TEAM).content.decode()
    for secret in (KEY, NEW_KEY, KEY[-8:], NEW_KEY[-8:], KEY[:12]):
        assert secret not in stored, secret
        assert secret not in page, secret
    assert "olivia set the stored key of Gateway." in page and "olivia replaced the stored key of Gateway." in page


def test_model_changes_are_recorded(owner_client, team):
    provider = make_provider(team, name="Local", protocol="compatible", key_source="none")
    owner_client.post(reverse("catalog:model_add", args=[provider.pk]), {"name": "llava", "inputs": ["image"]})
    model = ProviderModel.objects.get(name="llava")
    owner_client.post(reverse("catalog:model_edit", args=[model.pk]),
                      {"name": "llava", "inputs": ["image"], "price_input_per_mtok": "1", "accepts_urls": "on", "enabled": "on"})
    owner_client.post(reverse("catalog:model_toggle", args=[model.pk]))
    owner_client.post(reverse("catalog:model_delete", args=[model.pk]))

    assert actions(team) == ["model_added", "model_changed", "model_changed", "model_removed"]
    summaries = list(AuditEvent.objects.filter(team=team).order_by("pk").values_list("summary", flat=True))
    assert summaries[0] == "olivia added llava on Local."
    assert "price input per mtok" in summaries[1]
    assert summaries[2:] == ["olivia disabled llava on Local.", "olivia removed llava on Local."]


def test_a_preset_records_its_models(owner_client, team):
    owner_client.post(reverse("catalog:create"),
                      {**provider_post(name="Anthropic", protocol="messages", base_url="https://api.anthropic.com",
                                       api_version="2023-06-01", api_key=KEY),
                       "preset": "anthropic", "models": ["claude-sonnet-4-6", "claude-haiku-4-5"]})
    assert actions(team) == ["provider_created", "key_set", "model_added"]
    summary = AuditEvent.objects.get(action="model_added").summary
    assert "claude-sonnet-4-6" in summary and "claude-haiku-4-5" in summary
    assert KEY not in everything_stored()


def test_a_refused_provider_change_records_nothing(client, user, viewer, team):
    provider = make_provider(team, name="P", key=KEY)
    model = make_model(provider, "m1")
    for member in (user, viewer):
        client.force_login(member)
        client.post(reverse("catalog:edit", args=[provider.pk]), provider_post(api_key=NEW_KEY))
        client.post(reverse("catalog:model_delete", args=[model.pk]))
        client.post(reverse("catalog:delete", args=[provider.pk]))
    assert actions(team) == []


# --- who sees the list ------------------------------------------------------------------------------------


def test_only_owners_see_the_audit_list_newest_first_and_paginated(client, owner, user, viewer, team):
    for i in range(audit.PER_PAGE + 5):
        audit.record(team, owner, AuditEvent.Action.MEMBER_ADDED, f"event number {i:02d}.")
    client.force_login(owner)

    first = client.get(TEAM).content.decode()
    assert "event number 29." in first and "event number 05." in first and "event number 04." not in first
    assert first.index("event number 29.") < first.index("event number 28.")  # newest first
    assert "Page 1 of 2" in first and "?page=2" in first
    second = client.get(TEAM, {"page": "2"}).content.decode()
    assert "event number 04." in second and "event number 00." in second and "event number 29." not in second
    assert client.get(TEAM, {"page": "999999999999999999999"}).status_code == 200  # a bad page is a near one

    for member in (user, viewer):
        client.force_login(member)
        page = client.get(TEAM).content.decode()
        assert "event number" not in page and "Audit list" not in page


def test_another_teams_owner_never_sees_team_as_audit(client, other_user, other_team, owner, team):
    audit.record(team, owner, AuditEvent.Action.MEMBER_ADDED, "a thing in team A.")
    other_team.add_member(other_user, Membership.Role.OWNER)
    client.force_login(other_user)
    page = client.get(TEAM).content.decode()
    assert "Audit list" in page and "a thing in team A." not in page
