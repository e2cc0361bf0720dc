"""The seams between the pure domain and the outside world: Protocols the adapters implement, and
the error types the domain catches. Unit tests implement these with in-memory fakes
(`tests/fakes.py`); `adapters/` implements them over boto3."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from connect_profiles.domain.model import IdentifierType, Proficiency

LIST_USERS_PAGE = 1000  # ListUsers' maximum MaxResults: one call lists this many users
SEARCH_USERS_PAGE = 500  # SearchUsers' maximum MaxResults
LIST_GROUPS_PAGE = 1000  # ListRoutingProfiles/ListSecurityProfiles/ListUserHierarchyGroups' maximum
# ListPredefinedAttributes pages with NextToken, MaxResults 1-100 (Amazon Connect API Reference,
# "ListPredefinedAttributes").
LIST_ATTRIBUTES_PAGE = 100


@dataclass(frozen=True, slots=True)
class UserRef:
    id: str
    username: str


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A routing profile, security profile or user hierarchy group."""

    id: str
    name: str


# --- errors ----------------------------------------------------------------------------------------

# Error codes that will not change on retry however long one waits.
ACCESS_DENIED_CODES = frozenset(
    {"AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidClientTokenId"}
)
# Codes that say the service is busy or broken for now; botocore already retried them.
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "LimitExceededException",
        "InternalServiceException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


class ConnectCallError(Exception):
    """A Connect API answered with an error (after the adapter's retries)."""

    def __init__(self, operation: str, code: str, message: str, *, status: int = 0) -> None:
        super().__init__(f"{operation} failed: {code}: {message}")
        self.operation = operation
        self.code = code
        self.message = message
        self.status = status

    @property
    def not_found(self) -> bool:
        return self.code == "ResourceNotFoundException"

    @property
    def access_denied(self) -> bool:
        return self.code in ACCESS_DENIED_CODES or self.status == 403

    @property
    def transient(self) -> bool:
        """Throttled or a server-side failure: the call may well succeed later."""
        return self.code in TRANSIENT_CODES or self.status >= 500 or self.status == 429


class ConnectUnavailable(Exception):
    """Connect could not be reached or used at all: no credentials, no endpoint, unknown instance."""


class ConnectUnreachable(ConnectUnavailable):
    """The network failed (connection refused or reset, a timeout): may succeed later."""


class CallCancelled(Exception):
    """A call was cancelled before it was sent (the job is stopping): nothing was applied."""


_DENIAL = re.compile(r"perform: (?P<action>\S+) on resource: \"?(?P<resource>[^\"\s]+)\"?")


class PermissionDenied(Exception):
    """An AWS call was refused by IAM. Retrying changes nothing: the stack's role must be fixed."""

    def __init__(self, action: str, resource: str, message: str) -> None:
        super().__init__(f"{action} on {resource} was denied: {message}")
        self.action = action
        self.resource = resource
        self.message = message

    @classmethod
    def from_aws(cls, action: str, resource: str, message: str) -> PermissionDenied:
        """From an AWS AccessDenied message, which names the action and resource refused (`... is not
        authorized to perform: <action> on resource: <arn> because ...`); else the call's own."""
        found = _DENIAL.search(message)
        if found:
            return cls(found["action"], found["resource"], message)
        return cls(action, resource, message)


# --- ports ------------------------------------------------------------------------------------------


class Connect(Protocol):
    """The Connect APIs the engine uses, on one instance."""

    instance_id: str

    @property
    def retries(self) -> int:
        """Attempts repeated so far (throttles, 5xx), for metrics."""
        ...

    def count_users(self) -> int: ...

    def list_users(self) -> Iterator[UserRef]: ...

    def find_username(self, username: str) -> list[UserRef]: ...

    def list_groups(self, kind: IdentifierType) -> list[GroupRef]:
        """Every routing profile, security profile or hierarchy group (by `kind`) of the instance:
        ListRoutingProfiles, ListSecurityProfiles or ListUserHierarchyGroups, every page."""
        ...

    def group_members(self, kind: IdentifierType, group_id: str) -> list[UserRef]:
        """The users of one group (SearchUsers pages of 500). A hierarchy group's members include
        the users of every group beneath it (WITH_CHILD_GROUPS)."""
        ...

    def list_proficiencies(self, user_id: str, *, settling: bool = False) -> list[Proficiency]:
        """What the user holds. `settling`: the read that settles a failed write, which goes out even
        while the job is stopping."""
        ...

    def attribute_values(self, name: str) -> list[str] | None: ...

    def attribute_names(self) -> list[str]:
        """The name of every predefined attribute of the instance (ListPredefinedAttributes, every
        page), to say which ones there are when a file names another."""
        ...

    def associate(self, user_id: str, proficiencies: Iterable[Proficiency]) -> None: ...

    def update(self, user_id: str, proficiencies: Iterable[Proficiency]) -> None: ...

    def disassociate(self, user_id: str, keys: Iterable[tuple[str, str]]) -> None: ...


class Store(Protocol):
    """The job bucket: the dropped file, the job's working state, the report files."""

    bucket: str
    region: str  # the bucket's Region, for links to its console pages

    def read_version(self, key: str, version_id: str | None) -> bytes: ...

    def put_bytes(self, key: str, content: bytes, content_type: str = ...) -> None: ...

    def put_json(self, key: str, document: Any) -> None: ...

    def get_json(self, key: str) -> Any: ...

    def list_keys(self, prefix: str) -> list[str]: ...


class Notifier(Protocol):
    def publish(self, subject: str, body: str) -> str:
        """Send the summary; returns the message id."""
        ...


class Journal(Protocol):
    """Where a resumable job keeps each user's proficiencies from before its first write, so a
    retried batch reports and undoes what the first attempt applied (and sends it no second time)."""

    def recall(self, user_id: str) -> list[Proficiency] | None: ...

    def record(self, user_id: str, before: list[Proficiency]) -> None: ...


class Lease(Protocol):
    """One job at a time per Connect instance: Connect's quotas are per account and Region, and
    Lambda's reserved concurrency limits invocations, not durable executions."""

    def acquire(self, owner: str, now: float) -> str | None:
        """Take or renew the lease for `owner`; None when `owner` now holds it, else who does."""
        ...

    def release(self, owner: str) -> None: ...
