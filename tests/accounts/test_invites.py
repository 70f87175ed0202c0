"""Invite links: made by owners (shown once, stored as a sha256), opened and accepted by a
logged-in user, and a 404 that says nothing for any link that is not usable."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from playground.accounts import services
from playground.accounts.models import AuditEvent, Invite, Membership
from playground.accounts.teams import SESSION_KEY
from tests.factories import make_invite, make_member, make_team, make_user

TEAM = "/accounts/team/"


def join_url(token: str) -> str:
    return reverse("accounts:invite_accept", args=[token])


def make_link(owner_client, team, **form) -> str:
    """The token of an invite made on the Team page, read from the page that shows it once."""
    data = {"role": "viewer", "max_uses": "1", "days": "7", **form}
    response = owner_client.post(reverse("accounts:invite_create", args=[team.pk]), data)
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    match = re.search(r'value="http://testserver/accounts/join/([^/"]+)/"', page)
    assert match, page
    return match.group(1)


# --- making one --------------------------------------------------------------------------------------


def test_an_owner_makes_a_link_shown_once_and_stored_only_as_its_sha256(owner_client, owner, team):
    response = owner_client.post(reverse("accounts:invite_create", args=[team.pk]),
                                 {"role": "editor", "max_uses": "3", "days": "2"})

    page = response.content.decode()
    token = re.search(r"/accounts/join/([^/\"]+)/", page).group(1)
    assert len(token) >= 43  # token_urlsafe(32): 256 bits
    assert "Copy link" in page and "cannot show it again" in page
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    invite = Invite.objects.get(team=team)
    assert (invite.role, invite.max_uses, invite.uses, invite.created_by) == ("editor", 3, 0, owner)
    assert invite.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert timedelta(days=2) - timedelta(minutes=1) < invite.expires_at - timezone.now() <= timedelta(days=2)
    # Nowhere else: not in the row, the audit list or the Team page.
    row = repr(list(Invite.objects.values()))
    assert token not in row
    assert token not in repr(list(AuditEvent.objects.values()))
    team_page = owner_client.get(TEAM).content.decode()
    assert token not in team_page
    assert f"invite-{invite.pk}" in team_page and "3 of 3" in team_page  # the open invites list


def test_two_links_differ(team, owner):
    tokens = {make_invite(team, owner)[1] for _ in range(20)}
    assert len(tokens) == 20


@pytest.mark.parametrize("form, why", [
    ({"role": "boss"}, "Select a valid choice"),
    ({"max_uses": "0"}, "greater than or equal to 1"),
    ({"max_uses": "1001"}, "less than or equal to 1000"),
    ({"days": "0"}, "greater than or equal to 1"),
    ({"days": "91"}, "less than or equal to 90"),
    ({"days": "abc"}, "Enter a whole number"),
])
def test_a_bad_invite_form_says_why_and_makes_nothing(owner_client, team, form, why):
    data = {"role": "viewer", "max_uses": "1", "days": "7", **form}
    response = owner_client.post(reverse("accounts:invite_create", args=[team.pk]), data, follow=True)

    assert why in response.content.decode()
    assert not Invite.objects.exists()


def test_editors_and_viewers_cannot_make_or_revoke_invites_nor_see_them(client, user, viewer, owner, team):
    invite, _ = make_invite(team, owner)
    for member in (user, viewer):
        client.force_login(member)
        assert client.post(reverse("accounts:invite_create", args=[team.pk]),
                           {"role": "owner", "max_uses": "1", "days": "7"}).status_code == 403
        assert client.post(reverse("accounts:invite_revoke", args=[invite.pk])).status_code == 403
        page = client.get(TEAM).content.decode()
        assert f"invite-{invite.pk}" not in page and "Make invite link" not in page
        assert reverse("accounts:invite_revoke", args=[invite.pk]) not in page
    assert Invite.objects.count() == 1 and Invite.objects.get().revoked_at is None


def test_a_member_of_another_team_cannot_see_make_or_revoke_team_as_invites(client, other_user, other_team, owner, team):
    other_team.add_member(other_user, Membership.Role.OWNER)  # an owner, but of team B
    invite, _ = make_invite(team, owner)
    client.force_login(other_user)

    assert client.post(reverse("accounts:invite_create", args=[team.pk]),
                       {"role": "viewer", "max_uses": "1", "days": "7"}).status_code == 404
    assert client.post(reverse("accounts:invite_revoke", args=[invite.pk])).status_code == 404
    assert f"invite-{invite.pk}" not in client.get(TEAM).content.decode()
    assert Invite.objects.filter(team=team).count() == 1 and Invite.objects.get().revoked_at is None


# --- opening and accepting ---------------------------------------------------------------------------


def test_a_logged_in_user_sees_the_team_and_role_and_joins_with_a_post(client, owner_client, team):
    token = make_link(owner_client, team, role="viewer")
    newcomer = make_user(username="nina")
    client.force_login(newcomer)

    page = client.get(join_url(token)).content.decode()
    assert "Vision team" in page and "viewer" in page and "Join Vision team" in page
    assert not Membership.objects.filter(user=newcomer).exists()  # GET writes nothing

    response = client.post(join_url(token))

    assert response.status_code == 302 and response.url == reverse("prompts:list")
    assert Membership.objects.get(user=newcomer, team=team).role == "viewer"
    assert client.session[SESSION_KEY] == team.pk
    assert "You joined Vision team as viewer." in client.get(response.url).content.decode()
    assert Invite.objects.get().uses == 1
    event = AuditEvent.objects.filter(action="invite_accepted").get()
    assert event.actor == newcomer and "nina joined as viewer" in event.summary


def test_accepting_needs_the_csrf_token(team, owner):
    from django.test import Client

    _, token = make_invite(team, owner)
    newcomer = make_user()
    client = Client(enforce_csrf_checks=True)
    client.force_login(newcomer)

    assert client.post(join_url(token)).status_code == 403
    assert not Membership.objects.filter(user=newcomer).exists()


def test_an_anonymous_visitor_is_sent_to_log_in_and_back(client, team, owner):
    _, token = make_invite(team, owner)
    newcomer = make_user(username="nina", password="a-long-password-1")

    response = client.get(join_url(token))

    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={join_url(token)}"
    logged_in = client.post(response.url, {"username": "nina", "password": "a-long-password-1"})
    assert logged_in.status_code == 302 and logged_in.url == join_url(token)
    assert "Join Vision team" in client.get(logged_in.url).content.decode()
    assert not Membership.objects.filter(user=newcomer).exists()


def test_an_anonymous_post_joins_nobody(client, team, owner):
    _, token = make_invite(team, owner)
    assert client.post(join_url(token)).status_code == 302
    assert Invite.objects.get().uses == 0


def test_a_single_use_link_works_once(client, team, owner):
    _, token = make_invite(team, owner)
    first, second = make_user(), make_user()
    client.force_login(first)
    client.post(join_url(token))
    client.force_login(second)

    assert client.get(join_url(token)).status_code == 404
    assert client.post(join_url(token)).status_code == 404
    assert not Membership.objects.filter(user=second).exists()


def test_a_link_for_three_uses_lets_three_people_in(client, team, owner):
    invite, token = make_invite(team, owner, Membership.Role.EDITOR, max_uses=3)
    people = [make_user() for _ in range(4)]
    for person in people[:3]:
        client.force_login(person)
        assert client.post(join_url(token)).status_code == 302
    client.force_login(people[3])
    assert client.get(join_url(token)).status_code == 404
    assert [Membership.objects.get(user=p, team=team).role for p in people[:3]] == ["editor"] * 3
    assert not Membership.objects.filter(user=people[3]).exists()
    invite.refresh_from_db()
    assert invite.uses == 3


def test_a_member_opening_a_link_is_told_and_keeps_role_and_the_use(client, owner, team):
    _, token = make_invite(team, owner, Membership.Role.VIEWER)
    client.force_login(owner)

    assert "already a member" in client.get(join_url(token)).content.decode()
    response = client.post(join_url(token), follow=True)

    assert "You are already a member of Vision team." in response.content.decode()
    assert Membership.objects.get(user=owner, team=team).role == "owner"  # an invite never demotes
    assert Invite.objects.get().uses == 0


def _expired(invite):
    Invite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def _revoked(invite):
    services.revoke_invite(invite=invite, actor=invite.created_by)


def _used_up(invite):
    Invite.objects.filter(pk=invite.pk).update(uses=1)


@pytest.mark.parametrize("spoil", [_expired, _revoked, _used_up], ids=["expired", "revoked", "used up"])
def test_a_spoiled_link_is_a_404_showing_nothing(client, team, owner, spoil):
    invite, token = make_invite(team, owner)
    spoil(invite)
    newcomer = make_user()
    client.force_login(newcomer)

    for response in (client.get(join_url(token)), client.post(join_url(token))):
        assert response.status_code == 404
        assert "Vision team" not in response.content.decode()
    assert not Membership.objects.filter(user=newcomer).exists()


@pytest.mark.parametrize("guess", ["x" * 43, "abc", "A" * 200, "%00" * 20, "..", "0" * 64])
def test_a_guessed_token_is_a_404(client, team, owner, guess):
    make_invite(team, owner)
    newcomer = make_user()
    client.force_login(newcomer)

    for method in (client.get, client.post):
        response = method(f"/accounts/join/{guess}/")
        assert response.status_code == 404
        assert "Vision team" not in response.content.decode()
    assert not Membership.objects.filter(user=newcomer).exists()


def test_the_stored_hash_itself_is_not_a_token(client, team, owner):
    invite, _ = make_invite(team, owner)
    client.force_login(make_user())
    assert client.get(join_url(invite.token_hash)).status_code == 404


# --- revoking ----------------------------------------------------------------------------------------


def test_an_owner_revokes_an_open_invite(owner_client, owner, team):
    invite, token = make_invite(team, owner)
    response = owner_client.post(reverse("accounts:invite_revoke", args=[invite.pk]), follow=True)

    assert "Revoked invite" in response.content.decode()
    assert f"invite-{invite.pk}" not in response.content.decode()  # no longer listed as open
    invite.refresh_from_db()
    assert invite.revoked_at is not None
    assert services.find_invite(token) is None
    assert owner_client.post(reverse("accounts:invite_revoke", args=[invite.pk]), follow=True).status_code == 200
    assert AuditEvent.objects.filter(action="invite_revoked").count() == 1  # the second time changed nothing


def test_the_open_list_shows_uses_left_expiry_and_maker_but_not_spent_ones(owner_client, owner, team):
    open_one, _ = make_invite(team, owner, max_uses=5)
    Invite.objects.filter(pk=open_one.pk).update(uses=2)
    spent, _ = make_invite(team, owner)
    _used_up(spent)
    other_team = make_team(name="Elsewhere")
    elsewhere, _ = make_invite(other_team)

    page = owner_client.get(TEAM).content.decode()

    assert f"invite-{open_one.pk}" in page and "3 of 5" in page and "olivia" in page
    assert f"invite-{spent.pk}" not in page and f"invite-{elsewhere.pk}" not in page


def test_services_refuse_a_non_owner(team, owner):
    editor = make_member(team, Membership.Role.EDITOR)
    with pytest.raises(services.NotOwner):
        services.create_invite(team=team, actor=editor, role="viewer")
    invite, _ = make_invite(team, owner)
    with pytest.raises(services.NotOwner):
        services.revoke_invite(invite=invite, actor=editor)
    assert Invite.objects.count() == 1


def test_no_get_of_the_team_pages_writes(client, owner, viewer, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, token = make_invite(team, owner)
    newcomer = make_user()
    pages = [(owner, TEAM), (owner, TEAM + "?page=2"), (viewer, TEAM), (newcomer, join_url(token)),
             (owner, join_url(token)), (newcomer, join_url("x" * 43))]
    for who, url in pages:
        client.force_login(who)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        writes = [q["sql"] for q in queries if re.match(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", q["sql"], re.I)]
        assert not writes, (url, writes)
