"""The fake provider fixture (defined in tests/provider_server.py, so other test packages and the
benchmark can use the server too) for every test here."""

from tests.provider_server import provider_server  # noqa: F401
