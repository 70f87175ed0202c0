from io import StringIO

from cryptography.fernet import Fernet
from django.core.management import call_command

from playground.catalog import secrets
from tests.factories import make_provider


def test_rotation_with_the_command(team, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PRISM_ENCRYPTION_KEY = old
    provider = make_provider(team, name="OpenAI", base_url="https://api.openai.com/v1", key="sk-rotate-me-123")

    settings.PRISM_ENCRYPTION_KEY = f"{new},{old}"
    out = StringIO()
    call_command("reencrypt_keys", stdout=out)

    assert "Re-encrypted 1 of 1" in out.getvalue()
    settings.PRISM_ENCRYPTION_KEY = new  # the old key is gone now
    provider.refresh_from_db()
    assert provider.api_key() == "sk-rotate-me-123"
    assert "sk-rotate-me-123" not in provider.api_key_encrypted
    assert isinstance(secrets.decrypt(provider.api_key_encrypted), str)
