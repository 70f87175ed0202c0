from django.apps import AppConfig


class DemoConfig(AppConfig):
    """No models: only the seed_demo command."""

    name = "playground.demo"
    label = "demo"
