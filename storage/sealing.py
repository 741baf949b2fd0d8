"""Secrets at rest: a connection's client secret or certificate is stored as a Fernet token
(``cryptography``: AES-128-CBC with an HMAC-SHA256, the key never in the store), under the keys of
``OFFERBOT_SECRET_KEY``. Several keys, comma-separated, are a MultiFernet: the first seals, any of
them opens, so a new key is put first and ``offerbot connection rotate-key`` seals every secret
again with it before the old one is dropped."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from storage.errors import ConfigError

KEY_SETTING = "OFFERBOT_SECRET_KEY"


def new_key() -> str:
    """A new random key, in the form ``OFFERBOT_SECRET_KEY`` takes (url-safe base64 of 32 bytes)."""
    return Fernet.generate_key().decode()


class Sealer:
    """Seals and opens secrets with the configured keys. Never logs or repeats a secret."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigError(f"{KEY_SETTING} is empty: make a key with `offerbot connection new-key`")
        fernets: list[Fernet] = []
        for n, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode()))
            except ValueError:
                raise ConfigError(
                    f"{KEY_SETTING}: key {n} is not a Fernet key (32 bytes in url-safe base64): make one "
                    "with `offerbot connection new-key`"
                ) from None
        self._fernet = MultiFernet(fernets)
        self.keys = len(fernets)

    @classmethod
    def parse(cls, value: str | None) -> Sealer | None:
        """The sealer of a comma-separated key list, or None when none is set."""
        if not value or not value.strip():
            return None
        return cls([k for k in value.split(",") if k.strip()])

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                f"a stored secret does not open with the keys of {KEY_SETTING}: the key it was sealed "
                "with was changed or dropped; put that key back (after the new one) or add the "
                "connection again"
            ) from None

    def rotate(self, token: str) -> str:
        """The same secret sealed with the first key (it must open with one of them)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise ConfigError(f"a stored secret does not open with any key of {KEY_SETTING}") from None
