from django.apps import AppConfig


class PlaygroundConfig(AppConfig):
    """The project itself: loads the Celery app when Django starts, so @shared_task binds to it."""

    name = "playground"
    label = "playground"

    def ready(self):
        import playground.celery  # noqa: F401
