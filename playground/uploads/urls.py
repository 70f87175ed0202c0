from django.urls import path

from playground.uploads import views

app_name = "uploads"
urlpatterns = [
    path("", views.library, name="library"),
    path("upload/", views.upload, name="upload"),
    path("add-url/", views.add_url, name="add_url"),
    path("<int:item_id>/", views.item_detail, name="detail"),
    path("<int:item_id>/delete/", views.item_delete, name="delete"),
    path("<int:item_id>/file", views.item_file, name="file"),
    path("<int:item_id>/thumbnail", views.item_thumbnail, name="thumbnail"),
    path("<int:item_id>/pages/<int:page>", views.item_page, name="page"),
    path("<int:item_id>/variants/", views.variant_list, name="variants"),
    path("<int:item_id>/variants/<int:variant_id>/delete/", views.variant_delete, name="variant_delete"),
    path("<int:item_id>/variants/new/", views.variant_create, name="variant_create"),
    path("<int:item_id>/variants/<int:variant_id>/<int:position>", views.variant_file, name="variant_file"),
]
