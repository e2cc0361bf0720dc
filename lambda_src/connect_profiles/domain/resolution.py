"""Usernames to user ids, at the fewest calls.

Usernames are case-sensitive in Connect. An exact match wins; otherwise a single case-insensitive
match is taken and the row says so; several are ambiguous and the row fails. One SearchUsers call
per username, or ListUsers pages of 1000 for the whole instance: whichever costs fewer calls.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from connect_profiles.domain.model import IdentifierType
from connect_profiles.ports import LIST_USERS_PAGE, Connect, GroupRef, UserRef


@dataclass(frozen=True, slots=True)
class Resolved:
    user_id: str | None
    note: str = ""  # a remark for the row's message, or why the username did not resolve


@dataclass(frozen=True, slots=True)
class Directory:
    """Who the file's rows name: each username's user id, and a username for every user id known."""

    usernames: dict[str, Resolved]
    names: dict[str, str]  # user id -> username
    listed: bool  # every user of the instance was listed, so an id not in `names` does not exist


def resolve_usernames(
    gateway: Connect, usernames: Collection[str], user_count: int, *, name_ids: bool = False
) -> Directory:
    """Resolve `usernames` at the fewest calls. With `name_ids` (the file names users by id) the
    instance is listed anyway, one ListUsers call per 1,000 users, so that the files people read
    carry usernames and an unknown id fails without a call of its own."""
    if not usernames and not name_ids:
        return Directory({}, {}, False)
    listing_cost = max(1, math.ceil(user_count / LIST_USERS_PAGE))
    if name_ids or len(usernames) > listing_cost:
        return _listed(usernames, list(gateway.list_users()), {})
    resolved: dict[str, Resolved] = {}
    misses: list[str] = []
    for username in usernames:
        found = gateway.find_username(username)
        exact = [user for user in found if user.username == username]
        if len(exact) == 1:
            resolved[username] = Resolved(exact[0].id)
        else:
            misses.append(username)
    if misses:
        # SearchUsers cannot be trusted to match case-insensitively: look at every username once.
        return _listed(misses, list(gateway.list_users()), resolved)
    return Directory(resolved, {r.user_id: name for name, r in resolved.items() if r.user_id}, False)


def _listed(usernames: Collection[str], users: list[UserRef], resolved: dict[str, Resolved]) -> Directory:
    return Directory({**resolved, **_match_all(usernames, users)}, {u.id: u.username for u in users}, True)


def _match_all(usernames: Collection[str], users: list[UserRef]) -> dict[str, Resolved]:
    exact = {user.username: user for user in users}
    folded: dict[str, list[UserRef]] = defaultdict(list)
    for user in users:
        folded[user.username.casefold()].append(user)
    return {username: _match(username, exact, folded) for username in usernames}


def _match(username: str, exact: dict[str, UserRef], folded: dict[str, list[UserRef]]) -> Resolved:
    if username in exact:
        return Resolved(exact[username].id)
    candidates = folded.get(username.casefold(), [])
    if len(candidates) == 1:
        return Resolved(candidates[0].id, f"username matched {candidates[0].username!r} ignoring case")
    if candidates:
        names = ", ".join(sorted(repr(user.username) for user in candidates))
        return Resolved(
            None,
            f"username {username!r} matches {len(candidates)} users ignoring case ({names}); "
            "use the exact username or the user_id",
        )
    return Resolved(
        None, f"no user with username {username!r} in this instance (usernames are case-sensitive)"
    )


# --- group rows ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group:
    """What a group row reaches: its members, or None and why not (`note`); else `note` is a remark
    for the row's message (a name matched ignoring case)."""

    members: list[UserRef] | None
    note: str = ""


def resolve_groups(
    gateway: Connect,
    wanted: Collection[tuple[IdentifierType, str]],
    directory: Directory,
    *,
    max_users: int,
) -> dict[tuple[IdentifierType, str], Group]:
    """Each (kind, identifier) of the file's group rows: one list call (and its pages) per kind
    used, then SearchUsers pages per group. `all` takes every user the directory listed (the
    caller has it list the instance: ListUsers pages of 1,000 cost half of SearchUsers' 500).
    A group reaching more than `max_users` users fails with the count."""
    kinds = sorted({kind for kind, _ in wanted if kind is not IdentifierType.ALL})
    listed = {kind: gateway.list_groups(kind) for kind in kinds}
    groups: dict[tuple[IdentifierType, str], Group] = {}
    for kind, identifier in wanted:
        if kind is IdentifierType.ALL:
            members = [UserRef(uid, name) for uid, name in directory.names.items()]
            groups[(kind, identifier)] = _guarded(kind, "every user", members, "", max_users)
            continue
        found, note = _match_group(kind, identifier, listed[kind])
        if found is None:
            groups[(kind, identifier)] = Group(None, note)
            continue
        members = gateway.group_members(kind, found.id)
        groups[(kind, identifier)] = _guarded(kind, f"{kind.label} {found.name!r}", members, note, max_users)
    return groups


def _guarded(kind: IdentifierType, shown: str, members: list[UserRef], note: str, limit: int) -> Group:
    if len(members) > limit:
        return Group(
            None,
            f"{shown} reaches {len(members):,} users, over the limit of {limit:,} users per group row "
            "(max group users); nothing was applied for this row",
        )
    return Group(members, note)


def _match_group(
    kind: IdentifierType, identifier: str, groups: list[GroupRef]
) -> tuple[GroupRef | None, str]:
    """The exact name, else the id, else a unique case-insensitive name; ambiguous or unknown: None."""
    exact = [group for group in groups if group.name == identifier]
    if len(exact) == 1:
        return exact[0], ""
    by_id = [group for group in groups if group.id == identifier]
    if by_id:
        return by_id[0], ""
    folded = exact or [group for group in groups if group.name.casefold() == identifier.casefold()]
    if len(folded) == 1:
        return folded[0], f"{kind.label} matched {folded[0].name!r} ignoring case"
    if folded:
        shown = ", ".join(sorted(f"{group.name!r} ({group.id})" for group in folded))
        return None, (
            f"{kind.label} {identifier!r} matches {len(folded)} {kind.label}s ignoring case ({shown}); "
            "use the exact name or the id"
        )
    return None, f"no {kind.label} with the name or id {identifier!r} in this instance"
