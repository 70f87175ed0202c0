from django.urls import path

from playground.catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.provider_list, name="list"),
    path("new/", views.provider_create, name="create"),
    path("<int:provider_id>/", views.provider_detail, name="detail"),
    path("<int:provider_id>/edit/", views.provider_edit, name="edit"),
    path("<int:provider_id>/delete/", views.provider_delete, name="delete"),
    path("<int:provider_id>/models/", views.model_add, name="model_add"),
    path("<int:provider_id>/test/", views.provider_test, name="test"),
    path("<int:provider_id>/models/fetch/", views.models_fetch, name="models_fetch"),
    path("<int:provider_id>/models/from-list/", views.models_from_list, name="models_from_list"),
    path("<int:provider_id>/models/from-preset/", views.preset_models_add, name="preset_models_add"),
    path("models/<int:model_id>/", views.model_row, name="model_row"),
    path("models/<int:model_id>/edit/", views.model_edit, name="model_edit"),
    path("models/<int:model_id>/toggle/", views.model_toggle, name="model_toggle"),
    path("models/<int:model_id>/delete/", views.model_delete, name="model_delete"),
]
