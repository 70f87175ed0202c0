from django.apps import AppConfig


class EvalsConfig(AppConfig):
    name = "playground.evals"
    label = "evals"
    verbose_name = "Evaluations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from playground.evals.models import EvalImport
        from playground.uploads import references

        # An import's uploaded ZIP is a StoredFile until its task is done; pruning must keep it.
        references.register(
            "evals.imports", lambda: EvalImport.objects.exclude(archive="").values_list("archive", flat=True)
        )
