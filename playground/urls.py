from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="uploads:library", permanent=False)),
    path("library/", include("playground.uploads.urls")),
    path("prompts/", include("playground.prompts.urls")),
    path("accounts/", include("playground.accounts.urls")),
    path("providers/", include("playground.catalog.urls")),
    path("runs/", include("playground.runs.urls")),
    path("s/", include("playground.sharing.urls")),
    path("evals/", include("playground.evals.urls")),
    path("evaluations/", include("playground.evalruns.urls")),
    path("admin/", admin.site.urls),
]
