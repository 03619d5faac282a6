"""Okta's OAuth 2.0 service app sign-in: client credentials with a `private_key_jwt` assertion.

Per FACTS §1: `POST {org}/oauth2/v1/token` (the org authorization server: only it mints tokens
with `okta.*` scopes), form-encoded `grant_type=client_credentials`, `scope`, and a client
assertion signed with the app's private key (`iss` = `sub` = client id, `aud` = the token URL,
`exp` five minutes ahead, a fresh `jti`). The access token (an hour) is asked for once and reused
until a minute before it expires; a 401 on the API makes the client forget it and ask again, once
(`http.SignIn`). The key, the assertions and the tokens are secrets: the key is a setting (so is
redacted), every assertion and token is remembered as one the moment it exists.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import anyio
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..errors import Unauthorized, remember_secret
from ..http import ApiClient

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_PATH = "/oauth2/v1/token"
EARLY = 60.0  # a token is renewed this many seconds before it expires
ASSERTION_LIFETIME = 300  # seconds (Okta accepts up to an hour)


def pem_text(value: str) -> str:
    """A PEM key from an environment variable, where newlines are often written `\\n`."""
    return value.replace("\\n", "\n").strip() + "\n"


def key_lines(value: str) -> tuple[str, ...]:
    """The base64 lines of a PEM key: redacted one by one, so no part of the key can show."""
    return tuple(line for line in pem_text(value).splitlines() if len(line) >= 12 and not line.startswith("-----"))


class ServiceApp:
    """The Authorization header of an Okta service app (`http.SignIn`)."""

    def __init__(
        self, tokens: ApiClient, *, client_id: str, private_key: str, key_id: str | None, scopes: str, env: str
    ) -> None:
        self.tokens = tokens  # a client of the org's root, sending no Authorization header
        self.client_id = client_id
        self._key_text = private_key
        self.key_id = key_id
        self.scopes = " ".join(scopes.split())
        self.env = env  # the private key's variable, for messages
        self._lock = anyio.Lock()
        self._header: str | None = None
        self._expires = 0.0

    def _key(self) -> tuple[Any, str]:
        """The private key and the algorithm it signs with (RS256 for RSA, ES256/384/512 for EC)."""
        try:
            key = serialization.load_pem_private_key(pem_text(self._key_text).encode(), password=None)
        except (ValueError, TypeError):
            raise Unauthorized(
                f"{self.env} is not a PEM private key without a password (-----BEGIN PRIVATE KEY----- ...); "
                "set it to the private key whose public key is registered on the Okta service app",
                provider="okta",
            ) from None
        if isinstance(key, rsa.RSAPrivateKey):
            return key, "RS256"
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key, {256: "ES256", 384: "ES384", 521: "ES512"}.get(key.curve.key_size, "ES256")
        raise Unauthorized(f"{self.env} must be an RSA or EC private key", provider="okta")

    def assertion(self, now: float) -> str:
        key, algorithm = self._key()
        audience = f"{self.tokens.base_url}{TOKEN_PATH}"
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": int(now),
            "exp": int(now) + ASSERTION_LIFETIME,
            "jti": str(uuid.uuid4()),
        }
        headers = {"kid": self.key_id} if self.key_id else None
        signed = jwt.encode(claims, key, algorithm=algorithm, headers=headers)
        remember_secret(signed)
        remember_secret(signed.rsplit(".", 1)[-1])  # the signature alone is what makes it a credential
        return signed

    async def authorization(self) -> str:
        async with self._lock:
            if self._header is None or time.time() >= self._expires - EARLY:
                self._header = await self._ask()
            return self._header

    def forget(self, authorization: str) -> None:
        if authorization == self._header:  # not one another request already renewed
            self._header = None

    async def _ask(self) -> str:
        now = time.time()
        form = {
            "grant_type": "client_credentials",
            "scope": self.scopes,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(now),
        }
        document = await self.tokens.call("POST", TOKEN_PATH, form=form)
        token = document.get("access_token") if isinstance(document, dict) else None
        lifetime = document.get("expires_in") if isinstance(document, dict) else None
        if not isinstance(token, str) or not token:
            raise Unauthorized("Okta's token endpoint answered without an access_token", provider="okta")
        remember_secret(token)
        self._expires = now + (float(lifetime) if isinstance(lifetime, int | float) else 3600.0)
        return f"Bearer {token}"
