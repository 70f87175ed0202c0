from django.urls import path

from playground.evalruns import views

app_name = "evalruns"

urlpatterns = [
    path("", views.eval_list, name="list"),
    path("new/", views.eval_new, name="new"),
    path("<int:eval_run_id>/", views.eval_detail, name="detail"),
    path("<int:eval_run_id>/progress/", views.eval_progress, name="progress"),
    path("<int:eval_run_id>/cancel/", views.eval_cancel, name="cancel"),
    path("<int:eval_run_id>/rescore/", views.eval_rescore, name="rescore"),
]
