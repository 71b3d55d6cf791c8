"""Roles granted per organisation, weakest first; a role includes every weaker one."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["viewer", "maintainer", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)


def rank(role: str) -> int:
    return ROLES.index(role)


def at_least(role: str, minimum: str) -> bool:
    return rank(role) >= rank(minimum)


def weaker(first: Role, second: Role) -> Role:
    return first if rank(first) <= rank(second) else second
