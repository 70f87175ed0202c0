from django.urls import path

from playground.sharing import views

app_name = "sharing"
urlpatterns = [
    # The sharer's side (members of the prompt's team).
    path("manage/prompt/<int:prompt_id>/", views.manage, name="manage"),
    path("manage/prompt/<int:prompt_id>/new/", views.link_create, name="create"),
    path("manage/link/<int:link_id>/revoke/", views.link_revoke, name="revoke"),
    path("manage/link/<int:link_id>/expiry/", views.link_expiry, name="expiry"),
    # The visitor's side: anyone holding the link.
    path("<str:token>/", views.shared_page, name="page"),
    path("<str:token>/media/<int:item_id>/file", views.shared_file, name="file"),
    path("<str:token>/media/<int:item_id>/thumbnail", views.shared_thumbnail, name="thumbnail"),
    path("<str:token>/fork/", views.fork, name="fork"),
]
