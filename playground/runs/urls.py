from django.urls import path

from playground.runs import views

app_name = "runs"
urlpatterns = [
    path("", views.run_history, name="list"),
    path("export.<str:fmt>", views.history_export, name="export"),
    path("prompt/<int:prompt_id>/", views.run_history, name="history"),
    path("prompt/<int:prompt_id>/export.<str:fmt>", views.history_export, name="prompt_export"),
    path("prompt/<int:prompt_id>/new/", views.run_new, name="new"),
    path("prompt/<int:prompt_id>/preflight/", views.run_preflight, name="preflight"),
    path("prompt/<int:prompt_id>/start/", views.run_start, name="start"),
    path("<int:run_id>/", views.run_detail, name="detail"),
    path("<int:run_id>/progress/", views.run_progress, name="progress"),
    path("<int:run_id>/cancel/", views.run_cancel, name="cancel"),
    path("<int:run_id>/rerun/", views.run_rerun, name="rerun"),
    path("<int:run_id>/diff/", views.run_diff, name="diff"),
    path("results/<int:result_id>/request/", views.result_request, name="request"),
    path("results/<int:result_id>/request.json", views.result_body, name="body"),
    path("results/<int:result_id>/response/", views.result_response, name="response"),
    path("results/<int:result_id>/resend/", views.result_resend, name="resend"),
]
