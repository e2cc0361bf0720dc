"""In-memory Amazon Connect instances: users, predefined attributes and proficiencies.

Each public method implements one operation on already-validated parameters and returns the
response body. Behaviour the AWS documentation leaves open is a `Behaviour` setting whose default
is the strict choice: a product that passes against a stand-in kinder than AWS has proved nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from connect_emulator.wire import ConnectError, invalid_parameter, invalid_request, not_found

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
INSTANCE_CREATED = 1_700_000_000.0  # a fixed CreatedTime (epoch seconds, as rest-json sends it)


class OnAssociateExisting(StrEnum):
    """What AssociateUserProficiencies does with a proficiency the user already holds
    (undocumented by AWS)."""

    REJECT = "reject"  # default: InvalidRequestException, nothing in the call applied
    OVERWRITE = "overwrite"  # the level in the request replaces the old one


class OnDisassociateMissing(StrEnum):
    """What DisassociateUserProficiencies does with a proficiency the user does not hold
    (undocumented by AWS)."""

    REJECT = "reject"  # default: InvalidRequestException, nothing in the call applied
    IGNORE = "ignore"  # the call succeeds, the missing entry is a no-op


@dataclass(frozen=True, slots=True)
class Behaviour:
    max_proficiencies_per_agent: int = 10
    on_associate_existing: OnAssociateExisting = OnAssociateExisting.REJECT
    on_disassociate_missing: OnDisassociateMissing = OnDisassociateMissing.REJECT
    # SearchUsers EXACT on Username: case-sensitive, as usernames are (an assumption).
    search_exact_case_sensitive: bool = True
    # At most this many items per page of every list operation, whatever MaxResults asks (None: the
    # model's maximum), so a test can prove a client follows NextToken instead of trusting one page.
    page_cap: int | None = None

    def __post_init__(self) -> None:
        if self.page_cap is not None and self.page_cap < 1:
            raise ValueError(f"page_cap must be at least 1, got {self.page_cap}")


@dataclass(slots=True)
class User:
    id: str
    username: str
    first_name: str = ""
    last_name: str = ""
    routing_profile_id: str = ""
    security_profile_ids: list[str] = field(default_factory=list)
    hierarchy_group_id: str = ""  # "" : in no hierarchy group
    # (attribute name, attribute value) -> level; insertion order is the order the service lists.
    proficiencies: dict[tuple[str, str], float] = field(default_factory=dict)
    last_modified: float = field(default_factory=time.time)


@dataclass(slots=True)
class PredefinedAttribute:
    name: str
    values: list[str]
    last_modified: float = field(default_factory=time.time)


@dataclass(slots=True)
class Named:
    """A routing profile, security profile or user hierarchy group (`parent_id`: hierarchy only)."""

    id: str
    name: str
    parent_id: str = ""
    last_modified: float = field(default_factory=time.time)


ProficiencyKey = tuple[str, str]
# A user with no routing or security profile of its own has the instance's defaults (as Connect
# requires one of each); they are listed like any other.
DEFAULT_ROUTING_PROFILE = ("Basic Routing Profile", str(uuid.uuid5(uuid.NAMESPACE_URL, "basic")))
DEFAULT_SECURITY_PROFILE = ("Agent", str(uuid.uuid5(uuid.NAMESPACE_URL, "agent")))


# Members that may change from one page to the next; every other member binds the token.
_PAGING_MEMBERS = frozenset({"NextToken", "MaxResults"})


def _request_digest(operation: str, params: dict[str, Any]) -> str:
    """What a NextToken is bound to: the operation and every non-paging member of the request
    (instance, user, search criteria), so a token cannot be replayed against another request."""
    bound = {name: value for name, value in params.items() if name not in _PAGING_MEMBERS}
    canonical = json.dumps([operation, bound], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _encode_token(offset: int, digest: str) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}:{digest}".encode()).decode()


def _decode_token(token: str | None, digest: str) -> int:
    if not token:
        return 0
    try:
        kind, number, bound = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        offset = int(number)
        if kind != "offset" or offset < 0:
            raise ValueError(kind)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid_parameter("The NextToken is not valid") from error
    if bound != digest:
        raise invalid_parameter("The NextToken was issued for a different request")
    return offset


def _page(
    items: Sequence[Any],
    params: dict[str, Any],
    *,
    operation: str,
    default_size: int,
    cap: int | None,
) -> tuple[list[Any], str | None]:
    digest = _request_digest(operation, params)
    start = _decode_token(params.get("NextToken"), digest)
    size = params.get("MaxResults") or default_size
    if cap is not None:
        size = min(size, cap)
    end = start + size
    return list(items[start:end]), (_encode_token(end, digest) if end < len(items) else None)


class Instance:
    def __init__(
        self,
        instance_id: str,
        *,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        behaviour: Behaviour | None = None,
        alias: str | None = None,
    ) -> None:
        self.id = instance_id
        self.region = region
        self.account_id = account_id
        # The name people know the instance by (DescribeInstance's InstanceAlias).
        self.alias = alias or f"emulator-{instance_id[:8]}"
        self.behaviour = behaviour or Behaviour()
        self.users: dict[str, User] = {}
        self.attributes: dict[str, PredefinedAttribute] = {}
        name, rp_id = DEFAULT_ROUTING_PROFILE
        self.routing_profiles: dict[str, Named] = {rp_id: Named(rp_id, name)}
        name, sp_id = DEFAULT_SECURITY_PROFILE
        self.security_profiles: dict[str, Named] = {sp_id: Named(sp_id, name)}
        self.hierarchy_groups: dict[str, Named] = {}
        self._lock = threading.Lock()

    @property
    def arn(self) -> str:
        return f"arn:aws:connect:{self.region}:{self.account_id}:instance/{self.id}"

    # --- set-up -------------------------------------------------------------------------------

    def add_attribute(self, name: str, values: Iterable[str]) -> PredefinedAttribute:
        attribute = PredefinedAttribute(name, list(values))
        self.attributes[name] = attribute
        return attribute

    def add_user(self, username: str, *, user_id: str | None = None, **details: Any) -> User:
        if any(user.username == username for user in self.users.values()):
            raise ConnectError("DuplicateResourceException", f"User {username} already exists", 409)
        user = User(id=user_id or str(uuid.uuid4()), username=username, **details)
        self.users[user.id] = user
        return user

    def add_routing_profile(self, name: str, *, profile_id: str | None = None) -> Named:
        profile = Named(profile_id or str(uuid.uuid4()), name)
        self.routing_profiles[profile.id] = profile
        return profile

    def add_security_profile(self, name: str, *, profile_id: str | None = None) -> Named:
        profile = Named(profile_id or str(uuid.uuid4()), name)
        self.security_profiles[profile.id] = profile
        return profile

    def add_hierarchy_group(self, name: str, *, group_id: str | None = None, parent_id: str = "") -> Named:
        if parent_id and parent_id not in self.hierarchy_groups:
            raise ValueError(f"hierarchy group {name!r}: no parent group {parent_id!r}")
        group = Named(group_id or str(uuid.uuid4()), name, parent_id)
        self.hierarchy_groups[group.id] = group
        return group

    def set_proficiency(self, user_id: str, attribute: str, value: str, level: float) -> None:
        self._check_value(attribute, value)
        self._check_level(level)
        self.users[user_id].proficiencies[(attribute, value)] = float(level)

    # --- operations ---------------------------------------------------------------------------

    def describe_instance(self, params: dict[str, Any]) -> dict[str, Any]:
        """The instance's summary, as DescribeInstance answers it (the members a caller reads)."""
        return {
            "Instance": {
                "Id": self.id,
                "Arn": self.arn,
                "IdentityManagementType": "CONNECT_MANAGED",
                "InstanceAlias": self.alias,
                "CreatedTime": INSTANCE_CREATED,
                "InstanceStatus": "ACTIVE",
                "InboundCallsEnabled": True,
                "OutboundCallsEnabled": True,
                "InstanceAccessUrl": f"https://{self.alias}.my.connect.aws",
            }
        }

    def list_users(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            users = sorted(self.users.values(), key=lambda user: user.username)
            page, token = _page(users, params, operation="ListUsers", default_size=100, cap=self._cap)
            return self._paged({"UserSummaryList": [self._summary(user) for user in page]}, token)

    def describe_user(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            user = self._user(params["UserId"])
            return {
                "User": {
                    **self._summary(user),
                    "IdentityInfo": {"FirstName": user.first_name, "LastName": user.last_name},
                    "PhoneConfig": {"PhoneType": "SOFT_PHONE", "AutoAccept": False},
                    "SecurityProfileIds": _security_profiles(user),
                    "RoutingProfileId": _routing_profile(user),
                }
            }

    def search_users(self, params: dict[str, Any]) -> dict[str, Any]:
        matches = _search_matcher(params, self.behaviour.search_exact_case_sensitive, self._group_path)
        with self._lock:
            users = sorted((u for u in self.users.values() if matches(u)), key=lambda user: user.username)
            page, token = _page(users, params, operation="SearchUsers", default_size=100, cap=self._cap)
            body = {
                "Users": [
                    {
                        "Id": user.id,
                        "Arn": self._user_arn(user),
                        "Username": user.username,
                        "IdentityInfo": {"FirstName": user.first_name, "LastName": user.last_name},
                        "RoutingProfileId": _routing_profile(user),
                        "SecurityProfileIds": _security_profiles(user),
                        **({"HierarchyGroupId": user.hierarchy_group_id} if user.hierarchy_group_id else {}),
                    }
                    for user in page
                ],
                "ApproximateTotalCount": len(users),
            }
            return self._paged(body, token)

    def create_user(self, params: dict[str, Any]) -> dict[str, Any]:
        identity = params.get("IdentityInfo", {})
        with self._lock:
            user = self.add_user(
                params["Username"],
                first_name=identity.get("FirstName", ""),
                last_name=identity.get("LastName", ""),
                routing_profile_id=params["RoutingProfileId"],
                security_profile_ids=list(params["SecurityProfileIds"]),
            )
            return {"UserId": user.id, "UserArn": self._user_arn(user)}

    def list_user_proficiencies(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            user = self._user(params["UserId"])
            items = [
                {"AttributeName": name, "AttributeValue": value, "Level": level}
                for (name, value), level in user.proficiencies.items()
            ]
            page, token = _page(
                items, params, operation="ListUserProficiencies", default_size=100, cap=self._cap
            )
            body = {
                "UserProficiencyList": page,
                "LastModifiedTime": user.last_modified,
                "LastModifiedRegion": self.region,
            }
            return self._paged(body, token)

    def associate_user_proficiencies(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            user = self._user(params["UserId"])
            entries = self._proficiencies(params["UserProficiencies"], with_level=True)
            existing = [key for key in entries if key in user.proficiencies]
            if existing and self.behaviour.on_associate_existing is OnAssociateExisting.REJECT:
                raise invalid_request(f"Proficiencies already associated with the user: {_names(existing)}")
            after = len(user.proficiencies) + sum(1 for key in entries if key not in user.proficiencies)
            limit = self.behaviour.max_proficiencies_per_agent
            if after > limit:
                raise invalid_request(
                    f"A user can have at most {limit} proficiencies; this request would give the user {after}"
                )
            self._write(user, lambda: user.proficiencies.update(entries))
            return {}

    def update_user_proficiencies(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            user = self._user(params["UserId"])
            entries = self._proficiencies(params["UserProficiencies"], with_level=True)
            missing = [key for key in entries if key not in user.proficiencies]
            if missing:
                raise invalid_request(f"Proficiencies are not associated with the user: {_names(missing)}")
            self._write(user, lambda: user.proficiencies.update(entries))
            return {}

    def disassociate_user_proficiencies(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            user = self._user(params["UserId"])
            keys = list(self._proficiencies(params["UserProficiencies"], with_level=False))
            missing = [key for key in keys if key not in user.proficiencies]
            if missing and self.behaviour.on_disassociate_missing is OnDisassociateMissing.REJECT:
                raise invalid_request(f"Proficiencies are not associated with the user: {_names(missing)}")

            def remove() -> None:
                for key in keys:
                    user.proficiencies.pop(key, None)

            self._write(user, remove)
            return {}

    def list_predefined_attributes(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            attributes = sorted(self.attributes.values(), key=lambda attribute: attribute.name)
            page, token = _page(
                attributes, params, operation="ListPredefinedAttributes", default_size=100, cap=self._cap
            )
            summaries = [
                {"Name": a.name, "LastModifiedTime": a.last_modified, "LastModifiedRegion": self.region}
                for a in page
            ]
            return self._paged({"PredefinedAttributeSummaryList": summaries}, token)

    def describe_predefined_attribute(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            attribute = self._attribute(params["Name"])
            return {
                "PredefinedAttribute": {
                    "Name": attribute.name,
                    "Values": {"StringList": list(attribute.values)},
                    "LastModifiedTime": attribute.last_modified,
                    "LastModifiedRegion": self.region,
                }
            }

    def create_predefined_attribute(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if params["Name"] in self.attributes:
                raise ConnectError(
                    "DuplicateResourceException", f"Attribute {params['Name']} already exists", 409
                )
            self.add_attribute(params["Name"], _string_values(params))
            return {}

    def update_predefined_attribute(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            attribute = self._attribute(params["Name"])
            if "Values" in params:
                attribute.values = _string_values(params)
                attribute.last_modified = time.time()
            return {}

    def list_routing_profiles(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_named(params, "ListRoutingProfiles", self.routing_profiles, "routing-profile")

    def list_security_profiles(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_named(params, "ListSecurityProfiles", self.security_profiles, "security-profile")

    def list_user_hierarchy_groups(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_named(params, "ListUserHierarchyGroups", self.hierarchy_groups, "agent-group")

    # --- helpers ------------------------------------------------------------------------------

    def _list_named(
        self, params: dict[str, Any], operation: str, items: dict[str, Named], arn_kind: str
    ) -> dict[str, Any]:
        with self._lock:
            ordered = sorted(items.values(), key=lambda item: (item.name, item.id))
            page, token = _page(ordered, params, operation=operation, default_size=100, cap=self._cap)
            summaries = [
                {
                    "Id": item.id,
                    "Arn": f"{self.arn}/{arn_kind}/{item.id}",
                    "Name": item.name,
                    "LastModifiedTime": item.last_modified,
                    "LastModifiedRegion": self.region,
                }
                for item in page
            ]
            return self._paged({_LIST_KEYS[operation]: summaries}, token)

    def _group_path(self, user: User) -> list[str]:
        """The user's hierarchy group and every group above it, nearest first."""
        path: list[str] = []
        group_id = user.hierarchy_group_id
        while group_id and group_id not in path:
            path.append(group_id)
            parent = self.hierarchy_groups.get(group_id)
            group_id = parent.parent_id if parent else ""
        return path

    @property
    def _cap(self) -> int | None:
        return self.behaviour.page_cap

    def _user(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise not_found(f"User {user_id} not found in instance {self.id}")
        return user

    def _attribute(self, name: str) -> PredefinedAttribute:
        attribute = self.attributes.get(name)
        if attribute is None:
            raise not_found(f"Predefined attribute {name} not found in instance {self.id}")
        return attribute

    def _check_value(self, name: str, value: str) -> None:
        if value not in self._attribute(name).values:
            raise invalid_parameter(f"{value} is not a value of predefined attribute {name}")

    @staticmethod
    def _check_level(level: float) -> None:
        if level != int(level) or not 1 <= level <= 5:
            raise invalid_parameter(f"Level must be a whole number from 1 to 5, got {level}")

    def _proficiencies(self, items: list[dict[str, Any]], *, with_level: bool) -> dict[ProficiencyKey, float]:
        """The call's entries, keyed; refuses an empty list and a pair named twice (the model sets
        no minimum, but a write of nothing, or of one pair at two levels, is not a request)."""
        if not items:
            raise invalid_parameter("UserProficiencies must hold at least one entry")
        entries: dict[ProficiencyKey, float] = {}
        for item in items:
            key = (item["AttributeName"], item["AttributeValue"])
            if key in entries:
                raise invalid_parameter(f"UserProficiencies names {_names([key])} more than once")
            self._check_value(*key)
            if with_level:
                self._check_level(item["Level"])
                entries[key] = float(item["Level"])
            else:
                entries[key] = 0.0
        return entries

    @staticmethod
    def _write(user: User, change: Callable[[], None]) -> None:
        change()
        user.last_modified = time.time()

    def _user_arn(self, user: User) -> str:
        return f"{self.arn}/agent/{user.id}"

    def _summary(self, user: User) -> dict[str, Any]:
        return {
            "Id": user.id,
            "Arn": self._user_arn(user),
            "Username": user.username,
            "LastModifiedTime": user.last_modified,
            "LastModifiedRegion": self.region,
        }

    @staticmethod
    def _paged(body: dict[str, Any], token: str | None) -> dict[str, Any]:
        if token:
            body["NextToken"] = token
        return body


def _names(keys: Iterable[ProficiencyKey]) -> str:
    return ", ".join(f"{name}={value}" for name, value in keys)


def _string_values(params: dict[str, Any]) -> list[str]:
    values = params.get("Values", {}).get("StringList")
    if values is None:
        raise invalid_parameter("Values.StringList is required")
    return list(values)


def _routing_profile(user: User) -> str:
    return user.routing_profile_id or str(uuid.uuid5(uuid.NAMESPACE_URL, "basic"))


def _security_profiles(user: User) -> list[str]:
    return user.security_profile_ids or [str(uuid.uuid5(uuid.NAMESPACE_URL, "agent"))]


# SearchUsers StringCondition fields the emulator implements: the documented FieldName values
# (exact spelling), each with the comparisons it accepts. Names take all three comparisons; ids are
# matched whole (an assumption: AWS documents no partial match of an id).
_NAME_COMPARISONS = frozenset({"EXACT", "STARTS_WITH", "CONTAINS"})
_ID_COMPARISONS = frozenset({"EXACT"})
_SEARCH_FIELDS: dict[str, tuple[Callable[[User], list[str]], frozenset[str]]] = {
    "Username": (lambda user: [user.username], _NAME_COMPARISONS),
    "FirstName": (lambda user: [user.first_name], _NAME_COMPARISONS),
    "LastName": (lambda user: [user.last_name], _NAME_COMPARISONS),
    "resourceId": (lambda user: [user.id], _ID_COMPARISONS),
    "RoutingProfileId": (lambda user: [_routing_profile(user)], _ID_COMPARISONS),
    "SecurityProfileId": (_security_profiles, _ID_COMPARISONS),
}
# A CONTAINS value must be 2 to 25 characters long (documented on UserSearchCriteria).
_CONTAINS_LENGTH = range(2, 26)
_COMBINATIONS = ("AndConditions", "OrConditions")

Matcher = Callable[[User], bool]


_LIST_KEYS = {
    "ListRoutingProfiles": "RoutingProfileSummaryList",
    "ListSecurityProfiles": "SecurityProfileSummaryList",
    "ListUserHierarchyGroups": "UserHierarchyGroupSummaryList",
}
GroupPath = Callable[[User], list[str]]
_HIERARCHY_MATCHES = frozenset({"EXACT", "WITH_CHILD_GROUPS"})


def _search_matcher(params: dict[str, Any], exact_case_sensitive: bool, group_path: GroupPath) -> Matcher:
    """SearchUsers' filter, or InvalidParameterException for anything the emulator does not
    implement: ignoring a condition would answer more users than AWS does."""
    if "SearchFilter" in params:
        raise invalid_parameter("The emulator does not implement SearchFilter")
    criteria = params.get("SearchCriteria")
    if criteria is None:
        return lambda user: True
    return _criteria_matcher(criteria, exact_case_sensitive, group_path)


def _criteria_matcher(criteria: dict[str, Any], exact_case_sensitive: bool, group_path: GroupPath) -> Matcher:
    """One UserSearchCriteria node: exactly one StringCondition, HierarchyGroupCondition,
    AndConditions or OrConditions (ListCondition is not implemented, so refused)."""
    members = sorted(criteria)
    if len(members) != 1:
        raise invalid_parameter(
            "A SearchCriteria node takes exactly one of StringCondition, AndConditions, OrConditions; "
            f"got {', '.join(members) or 'none'}"
        )
    member = members[0]
    if member in _COMBINATIONS:
        if not criteria[member]:
            raise invalid_parameter(f"{member} must hold at least one condition")
        parts = [_criteria_matcher(c, exact_case_sensitive, group_path) for c in criteria[member]]
        if member == "AndConditions":
            return lambda user: all(part(user) for part in parts)
        return lambda user: any(part(user) for part in parts)
    if member == "HierarchyGroupCondition":
        return _hierarchy_matcher(criteria[member], group_path)
    if member != "StringCondition":
        raise invalid_parameter(f"The emulator does not implement the {member} search condition")
    return _string_matcher(criteria[member], exact_case_sensitive)


def _hierarchy_matcher(condition: dict[str, Any], group_path: GroupPath) -> Matcher:
    """EXACT: users whose own hierarchy group is Value; WITH_CHILD_GROUPS: users of Value or of any
    group beneath it. Both members are required (the model marks neither; refusing is the strict
    reading: a condition without them would match users by a rule AWS does not document)."""
    wanted, match_type = condition.get("Value"), condition.get("HierarchyGroupMatchType")
    if not wanted or match_type is None:
        raise invalid_parameter("A HierarchyGroupCondition needs Value and HierarchyGroupMatchType")
    if match_type not in _HIERARCHY_MATCHES:  # the wire already refuses it; kept for direct callers
        raise invalid_parameter(
            f"HierarchyGroupMatchType must be EXACT or WITH_CHILD_GROUPS, got {match_type!r}"
        )
    if match_type == "EXACT":
        return lambda user: user.hierarchy_group_id == wanted
    return lambda user: wanted in group_path(user)


def _string_matcher(condition: dict[str, Any], exact_case_sensitive: bool) -> Matcher:
    field_name, wanted = condition.get("FieldName"), condition.get("Value")
    comparison = condition.get("ComparisonType")
    if field_name is None or wanted is None or comparison is None:
        raise invalid_parameter("A StringCondition needs FieldName, Value and ComparisonType")
    if field_name not in _SEARCH_FIELDS:
        raise invalid_parameter(
            f"Unsupported search field {field_name!r}; supported: {', '.join(_SEARCH_FIELDS)}"
        )
    read, comparisons = _SEARCH_FIELDS[field_name]
    if comparison not in comparisons:
        raise invalid_parameter(f"{field_name} does not support the {comparison} comparison")
    if comparison == "CONTAINS" and len(wanted) not in _CONTAINS_LENGTH:
        raise invalid_parameter(
            f"A CONTAINS value must be 2 to 25 characters long, got {len(wanted)}: {wanted!r}"
        )
    if comparison == "EXACT":
        if exact_case_sensitive:
            return lambda user: wanted in read(user)
        return lambda user: wanted.lower() in (v.lower() for v in read(user))
    if comparison == "STARTS_WITH":
        return lambda user: any(v.lower().startswith(wanted.lower()) for v in read(user))
    return lambda user: any(wanted.lower() in v.lower() for v in read(user))
