from django.urls import path

from playground.evalruns import views, views_results, views_review

app_name = "evalruns"

urlpatterns = [
    path("", views.eval_list, name="list"),
    path("new/", views.eval_new, name="new"),
    path("<int:eval_run_id>/", views.eval_detail, name="detail"),
    path("<int:eval_run_id>/progress/", views.eval_progress, name="progress"),
    path("<int:eval_run_id>/cancel/", views.eval_cancel, name="cancel"),
    path("<int:eval_run_id>/rescore/", views.eval_rescore, name="rescore"),
    # results and review ("evalresults": views_results.py, views_review.py)
    path("<int:eval_run_id>/results/", views_results.results_page, name="results"),
    path("<int:eval_run_id>/grid/", views_results.grid, name="grid"),
    path("<int:eval_run_id>/compare/", views_results.compare, name="compare"),
    path("<int:eval_run_id>/export.<str:fmt>", views_results.export, name="export"),
    path("<int:eval_run_id>/review/", views_review.queue, name="review_queue"),
    path("results/<int:result_id>/review/", views_review.save, name="review"),
]
