"""API keys at rest: encrypted with Fernet (AES-128-CBC + HMAC) under a key from settings.

PRISM_ENCRYPTION_KEY (a Fernet key, or several comma-separated for rotation, newest first) is
required in production; the embedded default derives one from SECRET_KEY, which is itself kept
in the data folder. A stored key is decrypted only to be sent, never to be shown.

Sending decrypts the provider's key for every request, so the MultiFernet is made once per key
list and a decrypted key is kept per process (bounded) for its ciphertext under that key list:
a changed or rotated key list finds nothing cached and decrypts anew.
"""

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class KeyUnavailable(Exception):
    pass


def _key_list() -> tuple[str, ...]:
    keys = tuple(k.strip() for k in settings.PRISM_ENCRYPTION_KEY.split(",") if k.strip())
    if not keys:
        # Derived, so the embedded default needs no extra setting; a dedicated key is better.
        digest = hashlib.sha256(b"prism api keys\0" + settings.SECRET_KEY.encode()).digest()
        keys = (base64.urlsafe_b64encode(digest).decode(),)
    return keys


@functools.lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


def _fernet() -> MultiFernet:
    return _fernet_for(_key_list())


# Plain keys live in this process's memory only, as they do while a request is sent; the cache is
# never logged, shown or written anywhere. Keyed on the key list too, so rotation or a changed
# PRISM_ENCRYPTION_KEY/SECRET_KEY never serves a key the current settings would not decrypt.
# A token that fails raises, and lru_cache keeps no failure.
@functools.lru_cache(maxsize=256)
def _decrypted(keys: tuple[str, ...], token: str) -> str:
    return _fernet_for(keys).decrypt(token.encode("ascii")).decode()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _decrypted(_key_list(), token)
    except InvalidToken:
        raise KeyUnavailable(
            "The stored API key cannot be decrypted (PRISM_ENCRYPTION_KEY or SECRET_KEY changed). Enter the key again."
        ) from None
