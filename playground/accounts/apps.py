from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "playground.accounts"
    label = "accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from playground.accounts.throttle import reset_own_failures

        user_logged_in.connect(reset_own_failures, dispatch_uid="prism-reset-own-login-failures")
