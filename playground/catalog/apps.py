from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "playground.catalog"
    label = "catalog"
    verbose_name = "Providers and models"

    def ready(self):
        from django.conf import settings

        from playground.catalog import columns
        from playground.lib.env import check_env_key_grants
        from playground.prompts import columns as prompt_columns

        # settings.py parsed PRISM_ENV_KEYS before reading everything; now every name it reads is known.
        check_env_key_grants(getattr(settings, "PRISM_ENV_KEYS", ()))
        # The preview columns offer the team's models and the presets (prompts cannot import catalog).
        prompt_columns.register("catalog", columns.choices)
