from django.urls import path

from playground.evalruns import views

app_name = "evalruns"

urlpatterns = [
    path("", views.eval_list, name="list"),
]
