from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "playground.runs"
    label = "runs"

    def ready(self) -> None:
        from playground.runs.models import RequestBodyFile  # models exist only once apps are loaded
        from playground.uploads import references

        # A logged request body holds the stored files it sent: pruning media must keep them.
        references.register(
            "runs: files in logged request bodies",
            lambda: RequestBodyFile.objects.values_list("file_id", flat=True),
            label="a run's stored request sent it",
        )
