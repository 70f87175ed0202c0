from django.urls import path

from playground.evals import views

app_name = "evals"
urlpatterns = [
    path("", views.set_list, name="list"),
    path("new/", views.set_create, name="create"),
    path("<int:set_id>/", views.set_detail, name="detail"),
    path("<int:set_id>/edit/", views.set_edit, name="edit"),
    path("<int:set_id>/delete/", views.set_delete, name="delete"),
    path("<int:set_id>/upload/", views.case_upload, name="upload"),
    path("<int:set_id>/library/", views.library_picker, name="picker"),
    path("<int:set_id>/from-library/", views.cases_from_library, name="from_library"),
    path("<int:set_id>/import/", views.import_zip, name="import"),
    path("<int:set_id>/export.zip", views.export_zip, name="export"),
    path("imports/<int:import_id>/", views.import_status, name="import_status"),
    path("cases/<int:case_id>/", views.case_row, name="case_row"),
    path("cases/<int:case_id>/edit/", views.case_edit, name="case_edit"),
    path("cases/<int:case_id>/delete/", views.case_delete, name="case_delete"),
]
