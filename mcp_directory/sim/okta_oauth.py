"""The simulated org authorization server: `POST /oauth2/v1/token`, client credentials with a
`private_key_jwt` client assertion (FACTS §1), and the access tokens it issues.

The assertion is verified as Okta does: signed by the key registered on the app (RS* or ES*),
`iss` = `sub` = the client id, `aud` = this token endpoint's URL, not expired and at most an hour
ahead, its `jti` never seen before. Failures answer RFC 6749's `{"error", "error_description"}`
(401 `invalid_client`; 400 `invalid_scope`, `unsupported_grant_type`, `invalid_dpop_proof`).
A token lives `OktaDirectory.token_lifetime` seconds and carries the scopes granted.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

import jwt
from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import SimError, base_url, json_response
from mcp_directory.sim.okta_seed import OktaDirectory

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]
MAX_AHEAD = 3600  # an assertion's exp is at most an hour away


def oauth_error(status: int, error: str, description: str) -> SimError:
    return SimError(status, description, oauth=error)


def invalid_client(description: str) -> SimError:
    return oauth_error(401, "invalid_client", description)


class TokenEndpoint:
    def __init__(self, directory: OktaDirectory) -> None:
        self.dir = directory

    def principal(self, token: str) -> tuple[str, tuple[str, ...]] | None:
        """The client and scopes of a live access token, else None (unknown or expired)."""
        held = self.dir.access_tokens.get(token)
        if held is None or held[0] <= time.time():
            return None
        return held[1], held[2]

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials":
            raise oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise invalid_client("Client authentication failed: a private_key_jwt client assertion is required.")
        client_id = self.verified(form["client_assertion"], f"{base_url(request)}/oauth2/v1/token")
        client = self.dir.clients[client_id]
        if client.dpop:
            raise oauth_error(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
        asked = tuple(dict.fromkeys((form.get("scope") or "").split()))
        if not asked:
            raise oauth_error(400, "invalid_scope", "The authorization server rejected the request: no scopes.")
        refused = [s for s in asked if s not in client.scopes]
        if refused:
            raise oauth_error(400, "invalid_scope", f"The following scopes are not allowed: {', '.join(refused)}")
        access = secrets.token_urlsafe(48)
        self.dir.access_tokens[access] = (time.time() + self.dir.token_lifetime, client_id, asked)
        body = {
            "token_type": "Bearer",
            "expires_in": self.dir.token_lifetime,
            "access_token": access,
            "scope": " ".join(asked),
        }
        return json_response(body)

    def verified(self, assertion: str, audience: str) -> str:
        """The client id of a valid assertion (else an `invalid_client` SimError)."""
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise invalid_client("The client_assertion is not a valid JWT.") from exc
        client_id = unverified.get("iss")
        client = self.dir.clients.get(client_id) if isinstance(client_id, str) else None
        if client is None or not isinstance(client_id, str):
            raise invalid_client("The client_assertion token has an unknown 'iss' claim (no such client).")
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                client.public_key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=client_id,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise invalid_client("The client_assertion token is expired.") from exc
        except jwt.InvalidAudienceError as exc:
            raise invalid_client(
                "The audience claim for client_assertion must be the endpoint invoking the client_assertion."
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise invalid_client("The client_assertion signature is invalid.") from exc
        except jwt.PyJWTError as exc:
            raise invalid_client(f"The client_assertion is invalid: {exc}") from exc
        if claims.get("sub") != client_id:
            raise invalid_client("The client_assertion token's 'sub' claim must be the client id.")
        if float(claims["exp"]) > time.time() + MAX_AHEAD + 60:
            raise invalid_client("The client_assertion token expires too far in the future (at most one hour).")
        jti = claims.get("jti")
        if jti is not None:
            if jti in self.dir.used_jtis:
                raise invalid_client("The client_assertion token has already been used (its jti was seen before).")
            self.dir.used_jtis.add(str(jti))
        return client_id
