"""The GitHub App side of the fake GitHub: it checks an app's JWT with the app's public key as
GitHub does and issues installation tokens that expire on the fake's clock."""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ROUTE = re.compile(
    r"^/(?:app/installations/(?P<id>\d+)/access_tokens"
    r"|(?:repos/(?P<owner>[^/]+)/[^/]+|orgs/(?P<org>[^/]+)|users/(?P<user>[^/]+))/installation)$"
)
MAX_JWT_LIFETIME = 600


def new_key_pair() -> tuple[str, str]:
    """A fresh RSA key pair as PEM text: (private, public)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@dataclass
class FakeApp:
    """One GitHub App, installed on some owners (login → installation id)."""

    app_id: str
    public_key: str
    installations: dict[str, int]
    installation: dict[str, Any]
    token_lifetime: float = 3600.0
    # Issued installation tokens → the epoch second each expires.
    tokens: dict[str, float] = field(default_factory=dict)

    def answer(
        self, method: str, path: str, bearer: str | None, now: float
    ) -> tuple[int, dict[str, Any]] | None:
        """(status, body) for the app's own endpoints; None for any other path."""
        match = APP_ROUTE.match(path)
        if match is None:
            return None
        refusal = self._refuse_jwt(bearer, now)
        if refusal is not None:
            return 401, {"message": refusal}
        if match["id"] is not None:
            if method != "POST" or int(match["id"]) not in self.installations.values():
                return 404, {"message": "Not Found"}
            return 201, self._issue(int(match["id"]), now)
        owner = (match["owner"] or match["org"] or match["user"]).lower()
        if owner not in self.installations:
            return 404, {"message": "Not Found"}
        installation = copy.deepcopy(self.installation)
        installation.update(id=self.installations[owner], app_id=int(self.app_id))
        installation["account"]["login"] = owner
        return 200, installation

    def valid(self, token: str, now: float) -> bool:
        return self.tokens.get(token, 0.0) > now

    def _refuse_jwt(self, bearer: str | None, now: float) -> str | None:
        """GitHub's refusal of an app JWT, or None if it is good now."""
        if not bearer:
            return "A JSON web token could not be decoded"
        try:
            claims = jwt.decode(
                bearer,
                self.public_key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "require": ["iat", "exp"]},
            )
        except jwt.PyJWTError:
            return "A JSON web token could not be decoded"
        if str(claims.get("iss")) != self.app_id:
            return "'Issuer' claim ('iss') must be an Integer"
        if claims["exp"] - claims["iat"] > MAX_JWT_LIFETIME:
            return "'Expiration time' claim ('exp') is too far in the future"
        if not claims["iat"] <= now < claims["exp"]:
            return "'Expiration time' claim ('exp') must be a numeric value representing the future"
        return None

    def _issue(self, installation_id: int, now: float) -> dict[str, Any]:
        token = "ghs_" + secrets.token_hex(18)
        expires = int(now + self.token_lifetime)
        self.tokens[token] = float(expires)
        return {
            "token": token,
            "expires_at": datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": {"contents": "read", "pull_requests": "read", "metadata": "read"},
            "repository_selection": "all",
        }


def installed_app(
    examples: Callable[[str], Any],
    app_id: str,
    public_key: str,
    installations: dict[str, int],
    token_lifetime: float = 3600.0,
) -> FakeApp:
    """A FakeApp whose installation records are GitHub's example installation."""
    installation = copy.deepcopy(examples("apps__list-installations")[0])
    owners = {owner.lower(): number for owner, number in installations.items()}
    return FakeApp(app_id, public_key, owners, installation, token_lifetime)
