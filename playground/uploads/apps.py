from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "playground.uploads"
    label = "uploads"
    verbose_name = "Media library"
