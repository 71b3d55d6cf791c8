"""`diogen users ...` and `diogen tokens ...`: the first administrator and API keys, from a shell.

Every change is written to the audit log like the API's, with no user (the shell is trusted).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.accounts.api_keys import create_api_key, revoke_api_key
from diogen.accounts.audit import Actor, record_write
from diogen.accounts.clock import utc_now
from diogen.accounts.models import ApiKey, User
from diogen.accounts.roles import ROLES
from diogen.accounts.users import create_user, grant_role, normalize_email
from diogen.cli.app import ConfigOption, DatabaseOption, app, database, info, settings_for
from diogen.db import session_scope
from diogen.errors import InputError, NotFoundError
from diogen.silver import Organization

users_app = typer.Typer(help="Manage API users and their roles.", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
SHELL = Actor(user_id=None)

EmailOption = Annotated[str, typer.Option("--email", help="The user's email address.")]
RoleOption = Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise InputError("no terminal to ask for a password: pass --password-stdin")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFoundError(f"no user with email {email}", email=email)
    return user


def _organization(session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        raise NotFoundError(f"no organization named {name!r}", name=name)
    return org


@users_app.command("create-admin")
def create_admin(
    email: EmailOption,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Create an administrator of the whole instance (asks for the password)."""
    password = _password(password_stdin)
    settings = settings_for(database_url, config)
    with database(settings) as engine, session_scope(engine) as session:
        user = create_user(session, email, password, now=utc_now(), superuser=True)
        record_write(
            session,
            SHELL,
            "user.create",
            "user",
            user.id,
            now=utc_now(),
            changes={"email": user.email, "is_superuser": True},
        )
    info(f"created administrator {user.email}")


@users_app.command("grant")
def grant(
    email: EmailOption,
    org: Annotated[str, typer.Option("--org", help="Organization name.")],
    role: RoleOption = "viewer",
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Give a user a role in an organisation (replacing the role they had there)."""
    settings = settings_for(database_url, config)
    with database(settings) as engine, session_scope(engine) as session:
        user = _user(session, email)
        organization = _organization(session, org)
        granted = grant_role(session, user.id, organization.id, role, now=utc_now())
        record_write(
            session,
            SHELL,
            "member.set",
            "role_grant",
            granted.id,
            now=utc_now(),
            organization_id=organization.id,
            changes={"role": role},
        )
    info(f"{user.email} is {role} in {org}")


@tokens_app.command("create")
def create_token(
    email: EmailOption,
    name: Annotated[str, typer.Option("--name", help="What the key is for, e.g. ci.")],
    org: Annotated[
        str | None, typer.Option("--org", help="Limit the key to one organisation (by name).")
    ] = None,
    role: RoleOption = "viewer",
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Create an API key acting as the user; prints it once on stdout."""
    settings = settings_for(database_url, config)
    with database(settings) as engine, session_scope(engine) as session:
        user = _user(session, email)
        org_id = _organization(session, org).id if org else None
        key, text = create_api_key(
            session, user, name=name, organization_id=org_id, role=role, now=utc_now()
        )
        record_write(
            session,
            SHELL,
            "api_key.create",
            "api_key",
            key.id,
            now=utc_now(),
            organization_id=org_id,
            changes={"name": name, "role": role},
        )
    info(f"API key {key.prefix} ({role}) for {user.email}; it is shown once, store it now:")
    typer.echo(text)


@tokens_app.command("list")
def list_tokens(
    email: EmailOption, database_url: DatabaseOption = None, config: ConfigOption = None
) -> None:
    """A user's API keys: prefix, name, role, organisation, last use, revocation."""
    settings = settings_for(database_url, config)
    with database(settings) as engine, session_scope(engine) as session:
        user = _user(session, email)
        keys = session.scalars(
            select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.created_at)
        ).all()
        for key in keys:
            used = key.last_used_at.isoformat() if key.last_used_at else "never used"
            state = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
            typer.echo(
                f"{key.prefix}\t{key.name}\t{key.role}\t{key.organization_id or '*'}"
                f"\t{used}\t{state}"
            )


@tokens_app.command("revoke")
def revoke_token(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (as `tokens list` shows).")],
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Revoke an API key at once."""
    settings = settings_for(database_url, config)
    with database(settings) as engine, session_scope(engine) as session:
        key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        if key is None:
            raise NotFoundError(f"no API key with prefix {prefix!r}", prefix=prefix)
        revoke_api_key(key, now=utc_now())
        record_write(
            session,
            SHELL,
            "api_key.revoke",
            "api_key",
            key.id,
            now=utc_now(),
            organization_id=key.organization_id,
        )
    info(f"revoked API key {prefix}")
