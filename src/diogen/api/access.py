"""Who is asking and what they may do: roles per organisation, and 404 outside them.

A principal holds a role per organisation; `everywhere` is a role held in every organisation
(a superuser's, possibly narrowed by the API key in use). Rows of an organisation the principal
has no role in are answered 404, exactly like rows that do not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, SQLColumnExpression, true

from diogen.accounts.audit import Actor
from diogen.accounts.errors import PermissionDenied
from diogen.accounts.roles import Role, at_least, rank
from diogen.errors import NotFoundError


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    roles: Mapping[str, Role] = field(default_factory=dict)
    # The names of (some of) the organisations of `roles`, read with them: a report scoped by
    # an organisation's name needs no query of its own.
    organization_names: Mapping[str, str] = field(default_factory=dict)
    everywhere: Role | None = None
    is_superuser: bool = False
    api_key_id: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.api_key_id)

    @property
    def limit_key(self) -> str:
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"

    def role_in(self, organization_id: str | None) -> Role | None:
        """The principal's role over a row of `organization_id` (None: a row of no organisation,
        which only a principal with a role everywhere may touch)."""
        held = self.roles.get(organization_id) if organization_id is not None else None
        if held is None or self.everywhere is None:
            return held or self.everywhere
        return held if rank(held) >= rank(self.everywhere) else self.everywhere

    def require(self, organization_id: str | None, minimum: Role, missing: NotFoundError) -> None:
        """Raise `missing` (404) outside the principal's organisations, 403 for a weak role."""
        role = self.role_in(organization_id)
        if role is None:
            raise missing
        if not at_least(role, minimum):
            raise PermissionDenied(
                f"this needs the {minimum} role in the organisation; you have {role}",
                minimum=minimum,
                role=role,
            )

    def require_any(
        self, organization_ids: Iterable[str | None], minimum: Role, missing: NotFoundError
    ) -> None:
        """Like `require`, for a row reachable through several organisations: the strongest
        role the principal holds over any of them decides."""
        roles = [r for r in (self.role_in(org) for org in organization_ids) if r is not None]
        if not roles:
            raise missing
        best = max(roles, key=rank)
        if not at_least(best, minimum):
            raise PermissionDenied(
                f"this needs the {minimum} role in the organisation; you have {best}",
                minimum=minimum,
                role=best,
            )

    def require_superuser(self) -> None:
        if not self.is_superuser:
            raise PermissionDenied("this needs an administrator of the whole instance")

    def visible(self, column: SQLColumnExpression[str | None]) -> ColumnElement[bool]:
        """A filter keeping rows whose organisation `column` the principal may read."""
        if self.everywhere is not None:
            return true()
        return column.in_(sorted(self.roles))
