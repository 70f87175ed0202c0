from django.contrib.auth import views as auth_views
from django.urls import path

from playground.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html",
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("team/", views.team_overview, name="team"),
    path("team/switch/", views.team_switch, name="team_switch"),
    path("team/new/", views.team_create, name="team_create"),
    path("team/leave/", views.team_leave, name="team_leave"),
    path("team/<int:team_id>/invites/", views.invite_create, name="invite_create"),
    path("team/<int:team_id>/members/", views.member_add, name="member_add"),
    path("invites/<int:invite_id>/revoke/", views.invite_revoke, name="invite_revoke"),
    path("members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    # The invite link: whoever holds the token may join (services.find_invite: 404 for any other).
    path("join/<str:token>/", views.invite_accept, name="invite_accept"),
]
