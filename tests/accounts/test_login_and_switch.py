"""Logging in and out, and teams as the boundary of what a user sees."""


from django.urls import reverse

from playground.accounts.models import Membership
from playground.accounts.teams import SESSION_KEY
from playground.uploads.models import MediaItem
from tests import media_samples as samples
from tests.factories import make_item, make_png, make_team, make_user

LIBRARY = "/library/"


# --- logging in and out ----------------------------------------------------------------------------


def test_the_login_page_is_public(client, db):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert b"Log in to Prism" in response.content


def test_anonymous_users_are_sent_to_log_in(client, db):
    response = client.get(LIBRARY)
    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={LIBRARY}"
    assert client.get("/").status_code == 302


def test_log_in_and_out(client, user):
    bad = client.post(reverse("accounts:login"), {"username": user.username, "password": "wrong"})
    assert bad.status_code == 200 and "didn't match" in bad.content.decode()

    response = client.post(reverse("accounts:login"), {"username": user.username, "password": user.raw_password})
    assert response.status_code == 302 and response.url == reverse("uploads:library")
    page = client.get(LIBRARY)
    assert page.status_code == 200
    assert b"Vision team" in page.content  # the current team is shown

    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(LIBRARY).status_code == 302


def test_login_does_not_redirect_off_site(client, user):
    response = client.post(
        reverse("accounts:login") + "?next=https://evil.example/",
        {"username": user.username, "password": user.raw_password, "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response.url == reverse("uploads:library")


# --- teams -------------------------------------------------------------------------------------------


def test_a_user_sees_only_their_teams_media(client_logged_in, team, other_team):
    mine = make_png(team, "mine.png", width=40, height=30)
    theirs = make_item(other_team, samples.jpeg_bytes(50, 40), "theirs.jpg")

    listing = client_logged_in.get(LIBRARY).content.decode()
    assert "mine.png" in listing and "theirs.jpg" not in listing
    assert client_logged_in.get(reverse("uploads:detail", args=[mine.pk])).status_code == 200
    for name in ("detail", "file", "thumbnail", "variants"):
        assert client_logged_in.get(reverse(f"uploads:{name}", args=[theirs.pk])).status_code == 404, name
    assert client_logged_in.post(reverse("uploads:delete", args=[theirs.pk])).status_code == 404
    assert MediaItem.objects.filter(pk=theirs.pk).exists()


def test_a_user_without_a_team_is_told_so(client, db):
    loner = make_user(username="loner")
    client.force_login(loner)
    assert client.get(LIBRARY).status_code == 403


def test_switching_to_another_of_my_teams(client_logged_in, user, team):
    second = make_team(name="Zebra team")  # sorts after "Vision team", the default
    second.add_member(user, Membership.Role.VIEWER)
    make_png(second, "zebra.png", width=20, height=20)
    assert "zebra.png" not in client_logged_in.get(LIBRARY).content.decode()

    response = client_logged_in.post(reverse("accounts:team_switch"), {"team": second.pk, "next": LIBRARY})

    assert response.status_code == 302 and response.url == LIBRARY
    assert client_logged_in.session[SESSION_KEY] == second.pk
    assert "zebra.png" in client_logged_in.get(LIBRARY).content.decode()
    team_page = client_logged_in.get(reverse("accounts:team")).content.decode()
    assert "Zebra team" in team_page and "Viewer" in team_page


def test_switching_to_a_team_i_do_not_belong_to_is_refused(client_logged_in, team, other_team, other_user):
    response = client_logged_in.post(reverse("accounts:team_switch"), {"team": other_team.pk}, follow=True)

    assert SESSION_KEY not in client_logged_in.session
    assert "You are not a member of that team." in response.content.decode()
    assert b"Other team" not in client_logged_in.get(LIBRARY).content


def test_switching_never_redirects_off_site(client_logged_in, team):
    response = client_logged_in.post(reverse("accounts:team_switch"), {"team": team.pk, "next": "https://evil.example/"})
    assert response.url == reverse("uploads:library")


def test_a_viewer_reads_but_cannot_change(client, viewer, team):
    item = make_png(team, "seen.png", width=20, height=20)
    client.force_login(viewer)
    assert client.get(reverse("uploads:detail", args=[item.pk])).status_code == 200
    assert client.post(reverse("uploads:delete", args=[item.pk])).status_code == 403
    assert MediaItem.objects.filter(pk=item.pk).exists()
