"""In-memory Amazon Connect instances: users, predefined attributes and proficiencies.

Each public method implements one operation on already-validated parameters and returns the
response body. Behaviour the AWS documentation leaves open is a `Behaviour` setting.
"""

from __future__ import annotations

import base64
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


class OnAssociateExisting(StrEnum):
    """What AssociateUserProficiencies does with a proficiency the user already holds."""

    OVERWRITE = "overwrite"  # default: the level in the request replaces the old one
    REJECT = "reject"  # InvalidRequestException, nothing in the call applied


class OnDisassociateMissing(StrEnum):
    """What DisassociateUserProficiencies does with a proficiency the user does not hold."""

    IGNORE = "ignore"  # default: the call succeeds, the missing entry is a no-op
    REJECT = "reject"  # InvalidRequestException, nothing in the call applied


@dataclass(frozen=True, slots=True)
class Behaviour:
    max_proficiencies_per_agent: int = 10
    on_associate_existing: OnAssociateExisting = OnAssociateExisting.OVERWRITE
    on_disassociate_missing: OnDisassociateMissing = OnDisassociateMissing.IGNORE
    # SearchUsers EXACT on Username: case-sensitive, as usernames are (an assumption).
    search_exact_case_sensitive: bool = True


@dataclass(slots=True)
class User:
    id: str
    username: str
    first_name: str = ""
    last_name: str = ""
    routing_profile_id: str = ""
    security_profile_ids: list[str] = field(default_factory=list)
    # (attribute name, attribute value) -> level; insertion order is the order the service lists.
    proficiencies: dict[tuple[str, str], float] = field(default_factory=dict)
    last_modified: float = field(default_factory=time.time)


@dataclass(slots=True)
class PredefinedAttribute:
    name: str
    values: list[str]
    last_modified: float = field(default_factory=time.time)


ProficiencyKey = tuple[str, str]


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind != "offset":
            raise ValueError(kind)
        return int(number)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid_parameter("The NextToken is not valid") from error


def _page(items: Sequence[Any], params: dict[str, Any], default_size: int) -> tuple[list[Any], str | None]:
    start = _decode_token(params.get("NextToken"))
    size = params.get("MaxResults") or default_size
    end = start + size
    return list(items[start:end]), (_encode_token(end) if end < len(items) else None)


class Instance:
    def __init__(
        self,
        instance_id: str,
        *,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        behaviour: Behaviour | None = None,
    ) -> None:
        self.id = instance_id
        self.region = region
        self.account_id = account_id
        self.behaviour = behaviour or Behaviour()
        self.users: dict[str, User] = {}
        self.attributes: dict[str, PredefinedAttribute] = {}
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

    def set_proficiency(self, user_id: str, attribute: str, value: str, level: float) -> None:
        self._check_value(attribute, value)
        self._check_level(level)
        self.users[user_id].proficiencies[(attribute, value)] = float(level)

    # --- operations ---------------------------------------------------------------------------

    def list_users(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            users = sorted(self.users.values(), key=lambda user: user.username)
            page, token = _page(users, params, default_size=100)
            return self._paged({"UserSummaryList": [self._summary(user) for user in page]}, token)

    def describe_user(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            user = self._user(params["UserId"])
            return {
                "User": {
                    **self._summary(user),
                    "IdentityInfo": {"FirstName": user.first_name, "LastName": user.last_name},
                    "PhoneConfig": {"PhoneType": "SOFT_PHONE", "AutoAccept": False},
                    "SecurityProfileIds": user.security_profile_ids
                    or [str(uuid.uuid5(uuid.NAMESPACE_URL, "agent"))],
                    "RoutingProfileId": user.routing_profile_id
                    or str(uuid.uuid5(uuid.NAMESPACE_URL, "basic")),
                }
            }

    def search_users(self, params: dict[str, Any]) -> dict[str, Any]:
        matches = _criteria_matcher(params.get("SearchCriteria"), self.behaviour.search_exact_case_sensitive)
        with self._lock:
            users = sorted((u for u in self.users.values() if matches(u)), key=lambda user: user.username)
            page, token = _page(users, params, default_size=100)
            body = {
                "Users": [
                    {
                        "Id": user.id,
                        "Arn": self._user_arn(user),
                        "Username": user.username,
                        "IdentityInfo": {"FirstName": user.first_name, "LastName": user.last_name},
                        "RoutingProfileId": user.routing_profile_id,
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
            page, token = _page(items, params, default_size=100)
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
            page, token = _page(attributes, params, default_size=100)
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

    # --- helpers ------------------------------------------------------------------------------

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
        entries: dict[ProficiencyKey, float] = {}
        for item in items:
            key = (item["AttributeName"], item["AttributeValue"])
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


_SEARCH_FIELDS: dict[str, Callable[[User], str]] = {
    "username": lambda user: user.username,
    "firstname": lambda user: user.first_name,
    "lastname": lambda user: user.last_name,
    "resourceid": lambda user: user.id,
}


def _criteria_matcher(criteria: dict[str, Any] | None, exact_case_sensitive: bool) -> Callable[[User], bool]:
    """SearchUsers criteria: StringCondition on username, firstname, lastname or resourceid,
    combined with AndConditions / OrConditions."""
    if not criteria:
        return lambda user: True
    if "AndConditions" in criteria:
        parts = [_criteria_matcher(c, exact_case_sensitive) for c in criteria["AndConditions"]]
        return lambda user: all(part(user) for part in parts)
    if "OrConditions" in criteria:
        parts = [_criteria_matcher(c, exact_case_sensitive) for c in criteria["OrConditions"]]
        return lambda user: any(part(user) for part in parts)
    condition = criteria.get("StringCondition")
    if condition is None:
        raise invalid_parameter("The emulator supports StringCondition, AndConditions and OrConditions only")
    field_name = str(condition.get("FieldName", "")).lower()
    if field_name not in _SEARCH_FIELDS:
        raise invalid_parameter(f"Unsupported search field {condition.get('FieldName')!r}")
    read = _SEARCH_FIELDS[field_name]
    wanted = str(condition.get("Value", ""))
    comparison = condition.get("ComparisonType", "EXACT")
    if comparison == "EXACT":
        if exact_case_sensitive:
            return lambda user: read(user) == wanted
        return lambda user: read(user).lower() == wanted.lower()
    if comparison == "STARTS_WITH":
        return lambda user: read(user).lower().startswith(wanted.lower())
    return lambda user: wanted.lower() in read(user).lower()
