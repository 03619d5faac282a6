"""Who is calling, and what they may do (SPEC §7, §10).

`serve --transport http|sse` accepts two kinds of bearer token, alone or together:

- the static `MCP_DIRECTORY_AUTH_TOKEN`: both scopes, actor `static-token`;
- with `MCP_DIRECTORY_OAUTH_ISSUER` and `..._AUDIENCE`, the issuer's access tokens: JWTs checked by
  `JwtVerifier` (the SDK's `TokenVerifier`) against the issuer's keys (`jwks.IssuerKeys`), carrying
  the scopes `directory:read` and `directory:write` in `scope` or `scp`; actor `oauth:<sub>` (else
  `oauth:<client id>`).

`Authenticate` sits in front of every route but the open ones (`/healthz`, the protected-resource
metadata): it asks `Credentials` (the static token, then the SDK's `BearerAuthBackend` over the
verifier) who is calling, answers 401 when nobody valid is, and otherwise records the caller where
the SDK expects it: `scope["user"]` (the SDK's transports bind a session to its owner) and the SDK's
auth contextvar. The SDK hands each message's sender context to the handler it runs, on both
protocol eras of `/mcp` and on `/sse` + `/messages/`, so `get_access_token()` inside a tool call is
the token of that very request: `caller_scopes()` and `current_actor()` read it there. Outside HTTP
(stdio, the in-process `call`) there is no token, no scope check, and no actor.

The token is never logged, and never leaves this process: provider clients send their own
credentials, built from the settings alone.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import jwt
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware, get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.routes import cors_middleware
from starlette.authentication import AuthCredentials
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import OAuthConfig
from .errors import Forbidden
from .jwks import ASYMMETRIC, IssuerKeys

logger = logging.getLogger("mcp_directory.auth")

READ = "directory:read"
WRITE = "directory:write"
SCOPES = (READ, WRITE)
STATIC_ACTOR = "static-token"
# Seconds of clock difference forgiven (`nbf`, `iat`, `exp`); the SDK's bearer backend then holds
# `exp` to the second.
LEEWAY_S = 30
METADATA_PATH = "/.well-known/oauth-protected-resource"


class MissingScope(Forbidden):
    """The caller's token lacks the scope a tool needs; nothing was sent anywhere."""

    def __init__(self, tool: str, scope: str) -> None:
        super().__init__(
            f"{tool}: this needs the {scope} scope, which your access token does not grant; sign in again "
            f"asking for {scope} (the authorization server must allow it for you)"
        )
        self.scope = scope


def caller_scopes() -> frozenset[str] | None:
    """The scopes of this request's token; None where no token is in play (stdio, in process)."""
    token = get_access_token()
    return None if token is None else frozenset(token.scopes)


def current_actor() -> str | None:
    """Who this request acts for, for the audit trail: `static-token` for MCP_DIRECTORY_AUTH_TOKEN;
    `oauth:` and the access token's `sub`, else its client id, so that no token can pass for the
    static one (a `sub` of `static-token` is `oauth:static-token`); None without a token (stdio, in
    process)."""
    token = get_access_token()
    if token is None:
        return None
    if token == STATIC_IDENTITY:
        return STATIC_ACTOR
    return f"{OAUTH_ACTOR_PREFIX}{token.subject or token.client_id}"


STATIC_IDENTITY = AccessToken(token="", client_id=STATIC_ACTOR, scopes=list(SCOPES))
OAUTH_ACTOR_PREFIX = "oauth:"


class JwtVerifier(TokenVerifier):
    """The SDK's `TokenVerifier` for the issuer's JWT access tokens (SPEC §10).

    Valid means: an asymmetric algorithm (`jwks.ASYMMETRIC`; `none` and HS* refused before any
    key is looked at), a signature that checks against the issuer's key named by `kid`, `iss` the
    issuer, `aud` holding the audience, `exp` in the future, and someone to name in the audit trail
    (`sub` or a client id). Anything else is None, and one log line says why, never with the token.
    """

    def __init__(self, config: OAuthConfig, keys: IssuerKeys | None = None) -> None:
        self.issuer = config.issuer
        self.audience = config.audience
        self.keys = keys or IssuerKeys(config.issuer, config.jwks_url)

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            claims = await self.claims(token)
        except jwt.PyJWTError as exc:  # its messages name the check, never the token
            logger.info("refused an access token: %s", exc)
            return None
        except Exception as exc:  # whatever else a crafted token provokes: refused, and no message quoted
            logger.warning("refused an access token: %s while checking it", type(exc).__name__)
            return None
        return identity(token, claims, self.audience)

    async def claims(self, token: str) -> dict[str, Any]:
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        if alg not in ASYMMETRIC:
            raise jwt.InvalidAlgorithmError(f"algorithm {str(alg)[:16]!r} is not accepted (asymmetric ones only)")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise jwt.InvalidTokenError("kid is not a string")
        key = await self.keys.key(kid, alg)
        if key is None:
            raise jwt.InvalidKeyError("no signing key of the issuer matches the token's kid and algorithm")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=self.audience,
            issuer=self.issuer,
            leeway=LEEWAY_S,
            options={"require": ["exp", "iss", "aud"], "enforce_minimum_key_length": True},
        )
        return claims


def identity(token: str, claims: dict[str, Any], audience: str) -> AccessToken | None:
    """The verified token as the SDK's `AccessToken`: scopes from `scope` (a space-separated
    string: RFC 9068, Auth0, Keycloak) or `scp` (Okta's list, Entra's string); the client id from
    `client_id` (RFC 9068), `azp` (OpenID Connect, Keycloak, Auth0), `cid` (Okta) or `appid` (Entra)."""
    granted: set[str] = set()
    for claim in ("scope", "scp"):
        value = claims.get(claim)
        if isinstance(value, str):
            granted.update(value.split())
        elif isinstance(value, list):
            granted.update(v for v in value if isinstance(v, str))
    client_id = next((v for k in ("client_id", "azp", "cid", "appid") if isinstance(v := claims.get(k), str)), "")
    subject = claims.get("sub") if isinstance(claims.get("sub"), str) else None
    if not (subject or client_id):
        logger.info("refused an access token: it names neither a subject (sub) nor a client")
        return None
    return AccessToken(
        token=token,
        client_id=client_id,
        scopes=sorted(granted),
        expires_at=int(claims["exp"]),
        resource=audience,
        subject=subject or None,
        claims=claims,
    )


class Credentials:
    """Who a request's `Authorization` header names: the static token (compared in constant
    time), else an access token the verifier accepts (through the SDK's `BearerAuthBackend`)."""

    def __init__(self, static_token: str | None, verifier: TokenVerifier | None) -> None:
        self.static = f"Bearer {static_token}".encode() if static_token else None
        self.oauth = BearerAuthBackend(verifier) if verifier is not None else None

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, AuthenticatedUser] | None:
        given = next((v for k, v in conn.scope["headers"] if k == b"authorization"), b"")
        if self.static is not None and hmac.compare_digest(given, self.static):
            return AuthCredentials(list(SCOPES)), AuthenticatedUser(STATIC_IDENTITY)
        if self.oauth is not None:
            result = await self.oauth.authenticate(conn)
            if result is not None:
                credentials, user = result
                assert isinstance(user, AuthenticatedUser)
                return credentials, user
        return None


class Authenticate:
    """Require a valid bearer token on every path but `open_paths` (SPEC §7, §10).

    A miss is 401. With OAuth: `WWW-Authenticate: Bearer resource_metadata="..."`, so a client
    finds the authorization server, plus `error="invalid_token"` when a token was sent (RFC 6750
    §3.1: none for a request that sent none). With only the static token: `Bearer realm=...`.
    """

    def __init__(
        self,
        app: ASGIApp,
        credentials: Credentials,
        *,
        resource_metadata_url: str | None,
        open_paths: Iterable[str],
    ) -> None:
        self.app = AuthContextMiddleware(app)
        self.open_app = app
        self.credentials = credentials
        self.resource_metadata_url = resource_metadata_url
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or (scope["type"] == "http" and scope["path"] in self.open_paths):
            await self.open_app(scope, receive, send)
            return
        if scope["type"] != "http":  # fail closed on its own, not only behind `web.HttpOnly`
            await refuse(scope, receive, send)
            return
        found = await self.credentials.authenticate(HTTPConnection(scope))
        if found is None:
            sent = any(k == b"authorization" for k, _ in scope["headers"])
            await self.challenge(sent)(scope, receive, send)
            return
        scope["auth"], scope["user"] = found
        await self.app(scope, receive, send)

    def challenge(self, sent: bool) -> Response:
        error = "invalid_token" if sent else "invalid_request"
        if self.resource_metadata_url is not None:
            header = f'Bearer resource_metadata="{self.resource_metadata_url}"'
            header += ', error="invalid_token"' if sent else ""
            description = (
                "the access token is not valid here: get a new one from the authorization server"
                if sent
                else "send Authorization: Bearer <access token>; the resource metadata names the authorization server"
            )
        else:
            header = f'Bearer realm="mcp-directory", error="{error}"'
            description = "send Authorization: Bearer <MCP_DIRECTORY_AUTH_TOKEN>"
        body = {"error": error, "error_description": description}
        return Response(
            json.dumps(body), status_code=401, media_type="application/json", headers={"WWW-Authenticate": header}
        )


async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
    """Turn away a non-HTTP connection: a WebSocket is closed with 1008 (policy violation)
    before it is accepted, which the server answers with 403; other scope types get nothing."""
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008})


def resource_metadata_url(audience: str) -> str:
    """RFC 9728 §3.1: the metadata's URL is the resource's origin, the well-known path, then the
    resource's own path (`https://mcp.example.com/mcp` -> `.../oauth-protected-resource/mcp`)."""
    parts = urlsplit(audience)
    path = parts.path if parts.path != "/" else ""
    return f"{parts.scheme}://{parts.netloc}{METADATA_PATH}{path}"


def metadata_routes(config: OAuthConfig) -> list[Route]:
    """`GET /.well-known/oauth-protected-resource` and `.../mcp` (and the path the audience implies,
    when it is another), answering SPEC §10's JSON: the audience and issuer exactly as configured
    (the SDK's `create_protected_resource_routes` normalizes URLs, and a client compares an issuer
    character for character). Open to every origin (CORS), like the SDK's."""
    document = {
        "resource": config.audience,
        "authorization_servers": [config.issuer],
        "scopes_supported": list(SCOPES),
        "bearer_methods_supported": ["header"],
    }

    async def metadata(request: Request) -> Response:
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=3600"})

    paths = [METADATA_PATH, f"{METADATA_PATH}/mcp", urlsplit(resource_metadata_url(config.audience)).path]
    endpoint = cors_middleware(metadata, ["GET", "OPTIONS"])
    return [Route(path, endpoint=endpoint, methods=["GET", "OPTIONS"]) for path in dict.fromkeys(paths)]
