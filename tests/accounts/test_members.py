"""Members and roles: creating a team, adding people by name, changing roles, removing and
leaving, and the rule that a team always keeps an owner."""

import pytest
from django.urls import reverse

from playground.accounts import services
from playground.accounts.models import AuditEvent, Membership, Team
from playground.accounts.teams import SESSION_KEY
from tests.factories import make_member, make_team, make_user

TEAM = "/accounts/team/"


def role_url(m):
    return reverse("accounts:member_role", args=[m.pk])


def remove_url(m):
    return reverse("accounts:member_remove", args=[m.pk])


def membership(user, team):
    return Membership.objects.get(user=user, team=team)


def roles(team) -> dict:
    return dict(Membership.objects.filter(team=team).values_list("user__username", "role"))


# --- creating a team ---------------------------------------------------------------------------------


def test_anyone_creates_a_team_owns_it_and_works_in_it(client, viewer, team):
    client.force_login(viewer)
    response = client.post(reverse("accounts:team_create"), {"name": "  Audio lab "}, follow=True)

    new = Team.objects.get(name="Audio lab")
    assert membership(viewer, new).role == "owner"
    assert client.session[SESSION_KEY] == new.pk
    page = response.content.decode()
    assert "Created Audio lab" in page and "<h2>Audio lab</h2>" in page and "Make invite link" in page
    assert membership(viewer, team).role == "viewer"  # the old team is as it was
    assert AuditEvent.objects.get(team=new).action == "team_created"


def test_a_user_without_a_team_can_create_one(client, db):
    loner = make_user()
    client.force_login(loner)
    assert "create a team below" in client.get(TEAM).content.decode()
    client.post(reverse("accounts:team_create"), {"name": "Mine"})
    assert membership(loner, Team.objects.get(name="Mine")).role == "owner"


@pytest.mark.parametrize("name, why", [("", "This field is required"), ("   ", "This field is required"),
                                       ("x" * 101, "at most 100 characters")])
def test_a_team_needs_a_name(client, user, name, why):
    client.force_login(user)
    response = client.post(reverse("accounts:team_create"), {"name": name}, follow=True)
    assert why in response.content.decode()
    assert Team.objects.count() == 1


def test_the_team_switch_stays(client, user, team):
    second = make_team(name="Zebra")
    second.add_member(user, "viewer")
    client.force_login(user)
    assert 'id="team-select"' in client.get(TEAM).content.decode()
    client.post(reverse("accounts:team_switch"), {"team": second.pk})
    assert client.session[SESSION_KEY] == second.pk


# --- adding by user name -----------------------------------------------------------------------------


def test_an_owner_adds_an_existing_user_by_name_in_a_role(owner_client, team):
    bob = make_user(username="bob")
    response = owner_client.post(reverse("accounts:member_add", args=[team.pk]), {"username": " bob ", "role": "editor"},
                                 follow=True)
    assert "Added bob as editor." in response.content.decode()
    assert membership(bob, team).role == "editor"
    event = AuditEvent.objects.get(action="member_added")
    assert event.summary == "olivia added bob as editor."


@pytest.mark.parametrize("username, why", [("nobody", "There is no user with that name."),
                                           ("alice", "alice is already a member"), ("", "This field is required")])
def test_adding_someone_unknown_or_already_in_is_refused(owner_client, user, team, username, why):
    before = roles(team)
    response = owner_client.post(reverse("accounts:member_add", args=[team.pk]), {"username": username, "role": "owner"},
                                 follow=True)
    assert why in response.content.decode()
    assert roles(team) == before
    assert not AuditEvent.objects.filter(action="member_added").exists()


def test_an_inactive_user_cannot_be_added(owner_client, team):
    make_user(username="gone", is_active=False)
    owner_client.post(reverse("accounts:member_add", args=[team.pk]), {"username": "gone", "role": "viewer"})
    assert "gone" not in roles(team)


# --- roles -------------------------------------------------------------------------------------------


def test_an_owner_changes_a_role(owner_client, viewer, team):
    response = owner_client.post(role_url(membership(viewer, team)), {"role": "editor"}, follow=True)
    assert "victor is now editor." in response.content.decode()
    assert membership(viewer, team).role == "editor"
    assert AuditEvent.objects.get(action="role_changed").summary == "olivia made victor editor (was viewer)."


def test_a_bad_role_is_refused(owner_client, viewer, team):
    owner_client.post(role_url(membership(viewer, team)), {"role": "admin"})
    assert membership(viewer, team).role == "viewer"


def test_the_last_owner_cannot_be_demoted(owner_client, owner, team):
    response = owner_client.post(role_url(membership(owner, team)), {"role": "editor"}, follow=True)
    assert "Vision team needs at least one owner" in response.content.decode()
    assert membership(owner, team).role == "owner"
    assert not AuditEvent.objects.filter(action="role_changed").exists()


def test_an_owner_may_step_down_when_another_owner_remains(owner_client, owner, team):
    make_member(team, Membership.Role.OWNER, username="otto")
    owner_client.post(role_url(membership(owner, team)), {"role": "editor"})
    assert membership(owner, team).role == "editor"
    # ...and is no owner any more: the next change is refused with a 403.
    assert owner_client.post(role_url(membership(owner, team)), {"role": "owner"}).status_code == 403
    assert roles(team)["olivia"] == "editor"


def test_two_owners_cannot_demote_each_other_to_no_owner(team, owner):
    otto = make_member(team, Membership.Role.OWNER, username="otto")
    services.change_role(membership=membership(owner, team), actor=otto, role="viewer")
    with pytest.raises(services.Refused):
        services.change_role(membership=membership(otto, team), actor=otto, role="viewer")
    assert roles(team) == {"olivia": "viewer", "otto": "owner"}


# --- removing and leaving ----------------------------------------------------------------------------


def test_an_owner_removes_a_member(owner_client, viewer, team):
    response = owner_client.post(remove_url(membership(viewer, team)), follow=True)
    assert "Removed victor from Vision team." in response.content.decode()
    assert "victor" not in roles(team)
    assert AuditEvent.objects.get(action="member_removed").summary == "olivia removed victor (viewer)."


def test_an_owner_cannot_remove_themselves_and_the_last_owner_stays(owner_client, owner, team):
    response = owner_client.post(remove_url(membership(owner, team)), follow=True)
    assert "use “Leave this team”" in response.content.decode()
    assert roles(team) == {"olivia": "owner"}
    assert not AuditEvent.objects.filter(action="member_removed").exists()


def test_removing_an_owner_when_another_remains(owner_client, team):
    otto = make_member(team, Membership.Role.OWNER, username="otto")
    owner_client.post(remove_url(membership(otto, team)))
    assert "otto" not in roles(team)


def test_any_member_leaves(client, viewer, user, team):
    for member in (viewer, user):
        client.force_login(member)
        response = client.post(reverse("accounts:team_leave"), {"team": team.pk}, follow=True)
        assert "You left Vision team." in response.content.decode()
        assert not Membership.objects.filter(user=member, team=team).exists()
        assert client.get("/prompts/").status_code == 403  # no team any more
    assert AuditEvent.objects.filter(action="member_left").count() == 2


def test_the_last_owner_cannot_leave(owner_client, owner, team):
    response = owner_client.post(reverse("accounts:team_leave"), {"team": team.pk}, follow=True)
    assert "You are the last owner of Vision team" in response.content.decode()
    assert membership(owner, team).role == "owner"
    assert not AuditEvent.objects.filter(action="member_left").exists()


def test_an_owner_leaves_when_another_owner_remains(owner_client, owner, team):
    make_member(team, Membership.Role.OWNER)
    owner_client.post(reverse("accounts:team_leave"), {"team": team.pk})
    assert "olivia" not in roles(team)


def test_leaving_a_team_i_am_not_in_changes_nothing(client, other_user, team, owner):
    client.force_login(other_user)
    response = client.post(reverse("accounts:team_leave"), {"team": team.pk}, follow=True)
    assert "You are not a member of that team." in response.content.decode()
    assert roles(team) == {"olivia": "owner"}


# --- who may manage ----------------------------------------------------------------------------------


def test_editors_and_viewers_see_the_members_read_only_and_are_refused(client, user, viewer, owner, team):
    before = roles(team)
    for member in (user, viewer):
        client.force_login(member)
        page = client.get(TEAM).content.decode()
        assert "olivia" in page and "victor" in page and "alice" in page  # the list, read-only
        assert "Change role" not in page and "Remove" not in page and "Audit list" not in page
        assert "Make invite link" not in page and "Add member" not in page
        for target in (owner, viewer, user):
            assert client.post(role_url(membership(target, team)), {"role": "owner"}).status_code == 403
            assert client.post(remove_url(membership(target, team))).status_code == 403
        assert client.post(reverse("accounts:member_add", args=[team.pk]),
                           {"username": member.username, "role": "owner"}).status_code == 403
    assert roles(team) == before
    assert not AuditEvent.objects.exists()


def test_owners_see_the_management_controls(owner_client, viewer, team):
    page = owner_client.get(TEAM).content.decode()
    assert "Change role" in page and role_url(membership(viewer, team)) in page
    assert remove_url(membership(viewer, team)) in page and "Audit list" in page


def test_another_teams_owner_reaches_nothing_of_team_a(client, other_user, other_team, owner, viewer, team):
    other_team.add_member(other_user, Membership.Role.OWNER)
    client.force_login(other_user)
    before = roles(team)

    page = client.get(TEAM).content.decode()
    assert "victor" not in page and "olivia" not in page and "Vision team" not in page
    for target in (owner, viewer):
        assert client.post(role_url(membership(target, team)), {"role": "owner"}).status_code == 404
        assert client.post(remove_url(membership(target, team))).status_code == 404
    assert client.post(reverse("accounts:member_add", args=[team.pk]),
                       {"username": "mallory", "role": "owner"}).status_code == 404
    assert roles(team) == before


def test_get_is_refused_on_every_change(owner_client, viewer, team):
    m = membership(viewer, team)
    for url in (role_url(m), remove_url(m), reverse("accounts:team_leave"), reverse("accounts:team_create"),
                reverse("accounts:member_add", args=[team.pk]), reverse("accounts:invite_create", args=[team.pk])):
        assert owner_client.get(url).status_code == 405, url
    assert roles(team) == {"olivia": "owner", "victor": "viewer"}
