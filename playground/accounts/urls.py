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
]
