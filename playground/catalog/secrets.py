"""API keys at rest: encrypted with Fernet (AES-128-CBC + HMAC) under a key from settings.

PRISM_ENCRYPTION_KEY (a Fernet key, or several comma-separated for rotation, newest first) is
required in production; the embedded default derives one from SECRET_KEY, which is itself kept
in the data folder. A stored key is decrypted only to be sent, never to be shown.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class KeyUnavailable(Exception):
    pass


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.PRISM_ENCRYPTION_KEY.split(",") if k.strip()]
    if not keys:
        # Derived, so the embedded default needs no extra setting; a dedicated key is better.
        digest = hashlib.sha256(b"prism api keys\0" + settings.SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise KeyUnavailable(
            "The stored API key cannot be decrypted (PRISM_ENCRYPTION_KEY or SECRET_KEY changed). Enter the key again."
        ) from None
