from django.urls import path

from playground.prompts import views

app_name = "prompts"
urlpatterns = [
    path("", views.prompt_list, name="list"),
    path("new/", views.prompt_create, name="create"),
    path("import/", views.prompt_import, name="import"),
    path("<int:prompt_id>/", views.prompt_edit, name="edit"),
    path("<int:prompt_id>/preview/", views.preview, name="preview"),
    path("<int:prompt_id>/edit/", views.editor_action, name="action"),
    path("<int:prompt_id>/save/", views.prompt_save, name="save"),
    path("<int:prompt_id>/discard/", views.draft_discard, name="discard"),
    path("<int:prompt_id>/picker/", views.media_picker, name="picker"),
    path("<int:prompt_id>/upload/", views.media_upload, name="upload"),
    path("<int:prompt_id>/body/<str:column>.json", views.body_download, name="body"),
    path("<int:prompt_id>/versions/", views.version_list, name="versions"),
    path("<int:prompt_id>/diff/", views.version_diff, name="diff"),
    path("<int:prompt_id>/versions/<int:number>/restore/", views.version_restore, name="restore"),
    path("<int:prompt_id>/versions/<int:number>/export/", views.version_export, name="export"),
]
