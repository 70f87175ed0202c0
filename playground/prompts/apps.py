from django.apps import AppConfig


class PromptsConfig(AppConfig):
    name = "playground.prompts"
    label = "prompts"

    def ready(self) -> None:
        from playground.prompts.variant_uses import versions_using  # models exist only once apps are loaded
        from playground.uploads import references

        # A saved version that asks for a variant keeps it: deleting the variant is refused, naming the version.
        references.register_variant_users("prompts: saved versions", versions_using)
