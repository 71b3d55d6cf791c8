"""GitHub App authentication: the app's RS256 JWT buys an installation access token, renewed
before it expires.

GitHub's rules: the JWT is signed with the app's private key, `iss` is the app (or client) id,
`iat` 60 s in the past against clock drift, `exp` at most 10 minutes ahead. An installation
token lives an hour; it is renewed `RENEW_BEFORE` seconds ahead of its `expires_at`, so no
request is ever sent with a token about to lapse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from diogen.connectors.base import FetchStats
from diogen.connectors.github.config import GitHubAppConfig
from diogen.connectors.http import Clock, HttpClient, HttpError
from diogen.errors import InputError, NotFoundError, SourceError

DRIFT = 60
JWT_LIFETIME = 540  # under GitHub's 600 s maximum, drift included
RENEW_BEFORE = 300.0


def load_private_key(pem: str) -> RSAPrivateKey:
    """The app's RSA private key from its PEM text, or one clear error."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(
            "the GitHub App private key is not an unencrypted PEM private key "
            "(the .pem file GitHub generates)"
        ) from exc
    if not isinstance(key, RSAPrivateKey):
        raise InputError("the GitHub App private key is not an RSA key (GitHub Apps use RSA)")
    return key


def app_jwt(app_id: str, key: RSAPrivateKey, now: float) -> str:
    issued = int(now) - DRIFT
    claims = {"iat": issued, "exp": issued + DRIFT + JWT_LIFETIME, "iss": app_id}
    return jwt.encode(claims, key, algorithm="RS256")


class InstallationToken:
    """The `Credentials` of a GitHub App installation (see connectors/http.py)."""

    def __init__(
        self,
        app: GitHubAppConfig,
        http: HttpClient,
        *,
        clock: Clock,
        stats: FetchStats,
        owner: str | None = None,
        repo: str | None = None,
    ) -> None:
        self.app = app
        self.key = load_private_key(app.private_key.get_secret_value())
        self.http = http
        self.clock = clock
        self.stats = stats
        self.owner, self.repo = owner, repo
        self.installation_id = app.installation_id
        self.value: str | None = None
        self.expires_at = 0.0

    def token(self) -> str:
        if self.value is None or self.clock() >= self.expires_at - RENEW_BEFORE:
            self._issue()
        assert self.value is not None
        return self.value

    def invalidate(self) -> None:
        self.value = None

    def _issue(self) -> None:
        installation = self.installation_id or self._find_installation()
        self.installation_id = installation
        body = self._as_app("POST", f"app/installations/{installation}/access_tokens")
        try:
            self.value = str(body["token"])
            expires = datetime.fromisoformat(str(body["expires_at"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceError(
                "GitHub answered the installation token request without a token and expiry",
                installation=installation,
            ) from exc
        self.expires_at = expires.timestamp()
        self.stats.add("token_renewals")

    def _find_installation(self) -> int:
        """The installation on the repository (or the organisation, or the user)."""
        if self.repo:
            paths = [f"repos/{self.repo}/installation"]
        else:
            paths = [f"orgs/{self.owner}/installation", f"users/{self.owner}/installation"]
        for path in paths:
            try:
                return int(self._as_app("GET", path)["id"])
            except NotFoundError:
                continue
        where = self.repo or self.owner
        raise NotFoundError(
            f"GitHub App {self.app.app_id} is not installed on {where} "
            "(install it there, or give --installation-id)",
            app_id=self.app.app_id,
        )

    def _as_app(self, method: str, path: str) -> dict[str, Any]:
        bearer = app_jwt(self.app.app_id, self.key, self.clock())
        try:
            response = self.http.request(
                method, path, headers={"Authorization": f"Bearer {bearer}"}
            )
        except HttpError as exc:
            if exc.status == 404:
                raise NotFoundError(str(exc), url=exc.url) from exc
            raise SourceError(
                f"GitHub refused GitHub App {self.app.app_id}: {exc} "
                "(check the app id and that the private key is this app's)",
                status=exc.status,
                url=exc.url,
            ) from exc
        if not isinstance(response.data, dict):
            raise SourceError(f"GitHub answered {path} without a JSON object", url=response.url)
        return response.data
