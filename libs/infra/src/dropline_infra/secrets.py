"""Credentials at rest: encrypted with Fernet (AES-128-CBC + HMAC) from `cryptography`."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, key: str):
        self._fernet = Fernet(key.encode())

    def seal(self, value: dict | str) -> str:
        raw = json.dumps(value) if isinstance(value, dict) else value
        return self._fernet.encrypt(raw.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:  # wrong key or tampered value; never echo the token
            raise ValueError("credential could not be decrypted with this service's secrets_key") from exc

    def open_json(self, token: str) -> dict:
        return json.loads(self.open(token))
