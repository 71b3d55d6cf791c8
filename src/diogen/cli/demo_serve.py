"""`diogen demo --serve`: the dashboard on the demo data, signed in by a local demo admin.

Each run gives the demo admin a new random password, printed once: the demo database is a
scratch copy on this machine, and nobody has to invent (or reuse) a password to look at it.
"""

from __future__ import annotations

import secrets

import uvicorn
from sqlalchemy import Engine, select

from diogen.accounts.clock import utc_now
from diogen.accounts.models import User
from diogen.accounts.users import create_user, set_password
from diogen.api.app import create_app
from diogen.cli.app import info
from diogen.config import Settings
from diogen.db import session_scope
from diogen.metrics import Window
from diogen.web import dashboard_url

DEMO_ADMIN = "demo@diogen.local"
PASSWORD_BYTES = 12  # 16 URL-safe characters


def demo_admin(engine: Engine) -> str:
    """A fresh one-time password for the demo admin (created when missing); returns it."""
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    with session_scope(engine) as session:
        user = session.scalar(select(User).where(User.email == DEMO_ADMIN))
        if user is None:
            create_user(session, DEMO_ADMIN, password, now=utc_now(), superuser=True)
        else:
            set_password(user, password)
            user.is_active = True
    return password


def serve_demo(
    settings: Settings, engine: Engine, repo: str | None, window: Window, host: str, port: int
) -> None:
    """Print where and how to sign in, then serve the API and dashboard until interrupted."""
    password = demo_admin(engine)
    base = f"http://{host}:{port}"
    link = dashboard_url(base, start=window.start, end=window.end, repo=repo)
    info(
        f"dashboard: {link}\n"
        f"  sign in as {DEMO_ADMIN} with the one-time password {password}\n"
        "  (a new one each run; Ctrl-C stops the server)"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, log_level="warning")
