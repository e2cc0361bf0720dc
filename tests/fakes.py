"""In-memory fakes of every port (`connect_profiles.ports`), as strict as AWS, never kinder.

`FakeConnect` keeps users, predefined attributes and proficiencies, counts calls per Connect API (by
the API's own name), records every write in order, and refuses what Connect refuses, nothing
applied: a level that is not a whole number 1-5, an unknown user, attribute or value, an Associate
of a held proficiency or a Disassociate of a missing one (both configurable: Connect does not
document them), an Update of a missing one, and a call that would pass the per-agent limit. Errors
can be injected for the Nth call of an operation, before it is applied or after ("applied, then
the response was lost"), and an injection may also tell the job to stop while the call is out.
`stopping` models the adapter's pacer being cancelled: once set, no call goes out (CallCancelled,
nothing applied) except the settling read of a user after a failed write, which the adapter lets
through.

`FakeStore` keeps every version of every object, so `read_version(key, version_id)` returns that
exact version. `FakeNotifier` keeps what was published and refuses a subject SNS would refuse.
`FakeJournal` keeps what each user held before the job's first write.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from connect_profiles.domain.model import IdentifierType, Proficiency
from connect_profiles.ports import (
    LIST_ATTRIBUTES_PAGE,
    LIST_GROUPS_PAGE,
    LIST_USERS_PAGE,
    SEARCH_USERS_PAGE,
    CallCancelled,
    Connect,
    ConnectCallError,
    GroupRef,
    Journal,
    Notifier,
    PermissionDenied,
    Store,
    UserRef,
)

if TYPE_CHECKING:
    from connect_profiles.domain.job import JournalFactory

Key = tuple[str, str]

SEARCH_USERS = "SearchUsers"
LIST_USERS = "ListUsers"
LIST_PROFICIENCIES = "ListUserProficiencies"
DESCRIBE_ATTRIBUTE = "DescribePredefinedAttribute"
LIST_ATTRIBUTES = "ListPredefinedAttributes"
ASSOCIATE = "AssociateUserProficiencies"
UPDATE = "UpdateUserProficiencies"
DISASSOCIATE = "DisassociateUserProficiencies"
WRITE_APIS = (ASSOCIATE, UPDATE, DISASSOCIATE)
GROUP_LISTS = {
    IdentifierType.ROUTING_PROFILE: "ListRoutingProfiles",
    IdentifierType.SECURITY_PROFILE: "ListSecurityProfiles",
    IdentifierType.HIERARCHY_GROUP: "ListUserHierarchyGroups",
}
PROFICIENCIES_PAGE = 100  # ListUserProficiencies' maximum MaxResults
SEARCH_PAGE = 100  # what the adapter asks SearchUsers for

# The classes Connect answers with (see the README's emulator table).
INVALID_REQUEST = "InvalidRequestException"
INVALID_PARAMETER = "InvalidParameterException"
NOT_FOUND = "ResourceNotFoundException"
_STATUS = {INVALID_REQUEST: 400, INVALID_PARAMETER: 400, NOT_FOUND: 404}


def connect_error(operation: str, code: str, message: str, status: int | None = None) -> ConnectCallError:
    return ConnectCallError(
        operation, code, message, status=_STATUS.get(code, 0) if status is None else status
    )


def internal_error(operation: str) -> ConnectCallError:
    return ConnectCallError(operation, "InternalServiceException", "injected fault", status=500)


def permission_denied(
    operation: str, instance_id: str = "11111111-2222-4333-8444-555555555555"
) -> PermissionDenied:
    """What the adapter raises for an AccessDeniedException: IAM refused the call, nothing applied."""
    arn = f"arn:aws:connect:us-east-1:123456789012:instance/{instance_id}"
    message = (
        "User: arn:aws:sts::123456789012:assumed-role/job/fn is not authorized to perform: "
        f"connect:{operation} on resource: {arn} because no identity-based policy allows the "
        f"connect:{operation} action"
    )
    return PermissionDenied.from_aws(
        f"connect:{operation}", f"Amazon Connect instance {instance_id}", message
    )


@dataclass(slots=True)
class FakeUser:
    id: str
    username: str
    proficiencies: dict[Key, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Write:
    """One write call as it reached the fake, in order: `applied` says whether Connect's state
    changed, `error` the code it answered with (None for success)."""

    operation: str
    user_id: str
    items: tuple[Proficiency | Key, ...]
    applied: bool
    error: str | None = None


@dataclass(slots=True)
class _Injection:
    operation: str
    nth: int
    error: BaseException
    applied: bool
    stop: bool = False


class FakeConnect:
    """The `Connect` port over an in-memory instance."""

    def __init__(
        self,
        *,
        instance_id: str = "11111111-2222-4333-8444-555555555555",
        attributes: Mapping[str, Iterable[str]] | None = None,
        max_proficiencies: int = 10,
        on_associate_existing: Literal["reject", "overwrite"] = "reject",
        on_disassociate_missing: Literal["reject", "ignore"] = "reject",
        approximate_user_count: int | None = None,
        search_ignores_case: bool = False,
        stopping: threading.Event | None = None,
    ) -> None:
        self.instance_id = instance_id
        self.attributes: dict[str, list[str]] = {k: list(v) for k, v in (attributes or {}).items()}
        self.max_proficiencies = max_proficiencies
        self.on_associate_existing = on_associate_existing
        self.on_disassociate_missing = on_disassociate_missing
        self.approximate_user_count = approximate_user_count
        # Connect does not document whether SearchUsers' EXACT Username match ignores case.
        self.search_ignores_case = search_ignores_case
        self.users: dict[str, FakeUser] = {}
        self._by_username: dict[str, list[FakeUser]] = {}
        self.calls: Counter[str] = Counter()
        self.writes: list[Write] = []
        self.searched: list[str] = []  # usernames asked of SearchUsers, in order
        self.reported_retries = 0
        self.stopping = stopping
        self.settling_reads: list[str] = []  # user ids read again after a failed write, in order
        self.cancelled: list[str] = []  # operations refused because the job was stopping
        self._injections: list[_Injection] = []
        self._lock = threading.RLock()
        # Routing profiles, security profiles, hierarchy groups: each kind's groups in order, the
        # user ids of each group's own members, and each hierarchy group's parent.
        self.groups: dict[IdentifierType, list[GroupRef]] = {kind: [] for kind in GROUP_LISTS}
        self.members: dict[tuple[IdentifierType, str], list[str]] = {}
        self.parents: dict[str, str] = {}
        self.member_searches: list[tuple[IdentifierType, str]] = []  # SearchUsers by group, in order

    # --- setting up ---------------------------------------------------------------------------

    def add_user(self, user_id: str, username: str, *held: tuple[str, str, int]) -> UserRef:
        user = FakeUser(user_id, username, {(a, v): level for a, v, level in held})
        self.users[user_id] = user
        self._by_username.setdefault(username, []).append(user)
        return UserRef(user_id, username)

    def add_group(
        self, kind: IdentifierType, group_id: str, name: str, *user_ids: str, parent: str | None = None
    ) -> GroupRef:
        """A group of `kind` with these members; a hierarchy group may sit under `parent`."""
        group = GroupRef(group_id, name)
        self.groups[kind].append(group)
        self.members[(kind, group_id)] = list(user_ids)
        if parent is not None:
            self.parents[group_id] = parent
        return group

    def held(self, user_id: str) -> dict[Key, int]:
        return dict(self.users[user_id].proficiencies)

    def inject(
        self,
        operation: str,
        error: BaseException | None = None,
        *,
        nth: int = 1,
        applied: bool = False,
        stop: bool = False,
    ) -> None:
        """Make the `nth` call of `operation` (counted from the fake's start) raise `error` (an
        InternalServiceException by default); with `applied`, the call takes effect first, as when a
        write went through and its response was lost. With `stop`, `stopping` is set as the error
        strikes: the job is told to stop while the call is out."""
        self._injections.append(_Injection(operation, nth, error or internal_error(operation), applied, stop))

    def write_calls(self) -> list[Write]:
        return list(self.writes)

    # --- the port -----------------------------------------------------------------------------

    @property
    def retries(self) -> int:
        return self.reported_retries

    def count_users(self) -> int:
        self._begin(SEARCH_USERS)
        self._end(SEARCH_USERS)
        if self.approximate_user_count is not None:
            return self.approximate_user_count
        return len(self.users)

    def list_users(self) -> Iterator[UserRef]:
        refs = [UserRef(u.id, u.username) for u in self.users.values()]
        for page in range(max(1, math.ceil(len(refs) / LIST_USERS_PAGE))):
            self._begin(LIST_USERS)
            self._end(LIST_USERS)
            yield from refs[page * LIST_USERS_PAGE : (page + 1) * LIST_USERS_PAGE]

    def find_username(self, username: str) -> list[UserRef]:
        """SearchUsers with Username EXACT: case-sensitive, as usernames are."""
        if self.search_ignores_case:
            matches = [u for u in self.users.values() if u.username.casefold() == username.casefold()]
        else:
            matches = self._by_username.get(username, [])
        found = [UserRef(u.id, u.username) for u in matches]
        for _ in range(max(1, math.ceil(len(found) / SEARCH_PAGE))):
            self._begin(SEARCH_USERS)
            self._end(SEARCH_USERS)
        with self._lock:
            self.searched.append(username)
        return found

    def list_groups(self, kind: IdentifierType) -> list[GroupRef]:
        operation = GROUP_LISTS[kind]
        groups = list(self.groups[kind])
        for _ in range(max(1, math.ceil(len(groups) / LIST_GROUPS_PAGE))):
            self._begin(operation)
            self._end(operation)
        return groups

    def group_members(self, kind: IdentifierType, group_id: str) -> list[UserRef]:
        """SearchUsers by RoutingProfileId / SecurityProfileId EXACT, or HierarchyGroupCondition
        WITH_CHILD_GROUPS (the group and every group beneath it); 500 a page."""
        ids = list(self.members.get((kind, group_id), []))
        if kind is IdentifierType.HIERARCHY_GROUP:
            for child, _ in self.parents.items():
                if child != group_id and self._descends(child, group_id):
                    ids += self.members.get((kind, child), [])
        found = [UserRef(uid, self.users[uid].username) for uid in dict.fromkeys(ids) if uid in self.users]
        for _ in range(max(1, math.ceil(len(found) / SEARCH_USERS_PAGE))):
            self._begin(SEARCH_USERS)
            self._end(SEARCH_USERS)
        with self._lock:
            self.member_searches.append((kind, group_id))
        return found

    def _descends(self, group_id: str, ancestor: str) -> bool:
        seen: set[str] = set()
        while group_id in self.parents and group_id not in seen:
            seen.add(group_id)
            group_id = self.parents[group_id]
            if group_id == ancestor:
                return True
        return False

    def list_proficiencies(self, user_id: str, *, settling: bool = False) -> list[Proficiency]:
        if settling:
            with self._lock:
                self.settling_reads.append(user_id)
        self._begin(LIST_PROFICIENCIES, settling=settling)
        user = self._user(LIST_PROFICIENCIES, user_id)
        held = [Proficiency(a, v, level) for (a, v), level in user.proficiencies.items()]
        for _ in range(max(1, math.ceil(len(held) / PROFICIENCIES_PAGE)) - 1):
            self._begin(LIST_PROFICIENCIES, settling=settling)  # each further page is one more call
        self._end(LIST_PROFICIENCIES)
        return held

    def attribute_values(self, name: str) -> list[str] | None:
        self._begin(DESCRIBE_ATTRIBUTE)
        self._end(DESCRIBE_ATTRIBUTE)
        values = self.attributes.get(name)
        return None if values is None else list(values)

    def attribute_names(self) -> list[str]:
        """ListPredefinedAttributes, 100 a page, in name order as the emulator lists them."""
        names = sorted(self.attributes)
        for _ in range(max(1, math.ceil(len(names) / LIST_ATTRIBUTES_PAGE))):
            self._begin(LIST_ATTRIBUTES)
            self._end(LIST_ATTRIBUTES)
        return names

    def associate(self, user_id: str, proficiencies: Iterable[Proficiency]) -> None:
        items = tuple(proficiencies)
        self._write(ASSOCIATE, user_id, items, lambda user: self._associate(user, items))

    def update(self, user_id: str, proficiencies: Iterable[Proficiency]) -> None:
        items = tuple(proficiencies)
        self._write(UPDATE, user_id, items, lambda user: self._update(user, items))

    def disassociate(self, user_id: str, keys: Iterable[tuple[str, str]]) -> None:
        items = tuple(keys)
        self._write(DISASSOCIATE, user_id, items, lambda user: self._disassociate(user, items))

    # --- Connect's rules ----------------------------------------------------------------------

    def _associate(self, user: FakeUser, items: tuple[Proficiency, ...]) -> dict[Key, int]:
        state = dict(user.proficiencies)
        for p in items:
            self._check_proficiency(ASSOCIATE, p)
            key = (p.attribute, p.value)
            if key in state and self.on_associate_existing == "reject":
                raise connect_error(ASSOCIATE, INVALID_REQUEST, f"proficiency {key} is already associated")
            state[key] = p.level
        if len(state) > self.max_proficiencies:
            raise connect_error(
                ASSOCIATE,
                INVALID_REQUEST,
                f"the user would hold {len(state)} proficiencies; the limit is {self.max_proficiencies}",
            )
        return state

    def _update(self, user: FakeUser, items: tuple[Proficiency, ...]) -> dict[Key, int]:
        state = dict(user.proficiencies)
        for p in items:
            self._check_proficiency(UPDATE, p)
            key = (p.attribute, p.value)
            if key not in state:
                raise connect_error(UPDATE, INVALID_REQUEST, f"proficiency {key} must be associated first")
            state[key] = p.level
        return state

    def _disassociate(self, user: FakeUser, items: tuple[Key, ...]) -> dict[Key, int]:
        state = dict(user.proficiencies)
        for item in items:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise connect_error(
                    DISASSOCIATE, INVALID_PARAMETER, f"entries carry name and value only: {item!r}"
                )
            if item not in state:
                if self.on_disassociate_missing == "reject":
                    raise connect_error(
                        DISASSOCIATE, INVALID_REQUEST, f"proficiency {item} is not associated"
                    )
                continue
            del state[item]
        return state

    def _check_proficiency(self, operation: str, p: Proficiency) -> None:
        if not isinstance(p.level, int) or isinstance(p.level, bool) or not 1 <= p.level <= 5:
            raise connect_error(
                operation, INVALID_PARAMETER, f"Level must be a whole number 1-5, got {p.level!r}"
            )
        values = self.attributes.get(p.attribute)
        if values is None:
            raise connect_error(operation, NOT_FOUND, f"predefined attribute {p.attribute!r} not found")
        if p.value not in values:
            raise connect_error(
                operation, INVALID_PARAMETER, f"{p.value!r} is not a value of {p.attribute!r}"
            )

    # --- plumbing -----------------------------------------------------------------------------

    def _user(self, operation: str, user_id: str) -> FakeUser:
        user = self.users.get(user_id)
        if user is None:
            raise connect_error(operation, NOT_FOUND, f"user {user_id} not found")
        return user

    def _begin(self, operation: str, *, settling: bool = False) -> None:
        """Refuse to send the call while stopping (unless it settles a failed write); count it; raise
        an injected error that strikes before the call is applied."""
        with self._lock:
            if self.stopping is not None and self.stopping.is_set() and not settling:
                self.cancelled.append(operation)
                raise CallCancelled(operation)
            self.calls[operation] += 1
            injection = self._injection(operation, applied=False)
        self._strike(injection)

    def _end(self, operation: str) -> None:
        """Raise an injected error that strikes after the call was applied (a lost response)."""
        with self._lock:
            injection = self._injection(operation, applied=True)
        self._strike(injection)

    def _strike(self, injection: _Injection | None) -> None:
        if injection is None:
            return
        if injection.stop:
            if self.stopping is None:
                raise AssertionError("inject(stop=True) needs a FakeConnect made with stopping=")
            self.stopping.set()
        raise injection.error

    def _injection(self, operation: str, *, applied: bool) -> _Injection | None:
        for injection in self._injections:
            if (injection.operation, injection.nth, injection.applied) == (
                operation,
                self.calls[operation],
                applied,
            ):
                return injection
        return None

    def _write(self, operation: str, user_id: str, items: tuple[Any, ...], rule: Any) -> None:
        with self._lock:
            try:
                self._begin(operation)
            except CallCancelled:
                raise  # never sent: Connect saw nothing
            except BaseException as error:
                self.writes.append(Write(operation, user_id, items, False, _code(error)))
                raise
            try:
                user = self._user(operation, user_id)
                if not items:
                    raise connect_error(operation, INVALID_PARAMETER, "UserProficiencies must not be empty")
                state = rule(user)
            except ConnectCallError as error:
                self.writes.append(Write(operation, user_id, items, False, error.code))
                raise
            user.proficiencies = state
            try:
                self._end(operation)
            except BaseException as error:
                self.writes.append(Write(operation, user_id, items, True, _code(error)))
                raise
            self.writes.append(Write(operation, user_id, items, True))


def _code(error: BaseException) -> str:
    return error.code if isinstance(error, ConnectCallError) else type(error).__name__


# --- input files ------------------------------------------------------------------------------------

HEADER = "identifier,identifier_type,action,attribute,value,level"


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    """An input file: the header, then each row as written (comma-separated cells)."""
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


# --- the job bucket ---------------------------------------------------------------------------------


class NoSuchKey(KeyError):
    """What S3 answers for a key, or a version of it, that does not exist."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    version_id: str
    content: bytes
    content_type: str


class FakeStore:
    """The `Store` port over a versioned in-memory bucket."""

    def __init__(self, bucket: str = "connect-profiles-bucket", region: str = "eu-west-2") -> None:
        self.bucket = bucket
        self.region = region
        self.objects: dict[str, list[StoredObject]] = {}
        self.reads: list[tuple[str, str | None]] = []  # (key, version asked for) of read_version
        self._versions = itertools.count(1)
        self._lock = threading.Lock()

    def upload(self, key: str, content: bytes, content_type: str = "text/csv") -> str:
        """Put a new version of `key` (what a person's upload does); returns its version id."""
        with self._lock:
            version_id = f"v{next(self._versions)}"
            self.objects.setdefault(key, []).append(StoredObject(version_id, content, content_type))
        return version_id

    def latest(self, key: str) -> bytes:
        return self.latest_object(key).content

    def latest_object(self, key: str) -> StoredObject:
        versions = self.objects.get(key)
        if not versions:
            raise NoSuchKey(key)
        return versions[-1]

    def all_keys(self) -> list[str]:
        return sorted(self.objects)

    # --- the port -----------------------------------------------------------------------------

    def read_version(self, key: str, version_id: str | None) -> bytes:
        self.reads.append((key, version_id))
        if version_id is None:
            return self.latest(key)
        for stored in self.objects.get(key, []):
            if stored.version_id == version_id:
                return stored.content
        raise NoSuchKey(f"{key} version {version_id}")

    def put_bytes(self, key: str, content: bytes, content_type: str = "text/csv; charset=utf-8") -> None:
        self.upload(key, bytes(content), content_type)

    def put_json(self, key: str, document: Any) -> None:
        self.put_bytes(key, json.dumps(document, separators=(",", ":")).encode(), "application/json")

    def get_json(self, key: str) -> Any:
        return json.loads(self.latest(key))

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(key for key in self.objects if key.startswith(prefix))


# --- the summary topic --------------------------------------------------------------------------------

SUBJECT_LIMIT = 99  # Publish: the subject "must be less than 100 characters long"
MESSAGE_LIMIT = 256 * 1024


class SnsRefused(Exception):
    """SNS's InvalidParameter: what Publish answers for a subject or message it will not take."""


class FakeNotifier:
    """The `Notifier` port; refuses what SNS Publish refuses (subject ASCII only, no line breaks or
    control characters, less than 100 characters; message not empty, at most 256 KiB)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def publish(self, subject: str, body: str) -> str:
        problem = subject_problem(subject)
        if problem:
            raise SnsRefused(f"Invalid parameter: Subject {problem}: {subject!r}")
        if not body or len(body.encode()) > MESSAGE_LIMIT:
            raise SnsRefused("Invalid parameter: Message must be 1 byte to 256 KiB")
        self.messages.append((subject, body))
        return f"message-{len(self.messages)}"


def subject_problem(subject: str) -> str:
    if not subject:
        return "is empty"
    if not subject.isascii():
        return "is not ASCII"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in subject):
        return "has a line break or control character"
    if len(subject) > SUBJECT_LIMIT:
        return f"is longer than {SUBJECT_LIMIT} characters"
    return ""


# --- the journal ------------------------------------------------------------------------------------


class FakeJournal:
    """The `Journal` port: what each user held before the job's first write to them."""

    def __init__(self) -> None:
        self.entries: dict[str, list[Proficiency]] = {}
        self.recorded: list[str] = []  # user ids, in the order they were recorded
        self._lock = threading.Lock()

    def recall(self, user_id: str) -> list[Proficiency] | None:
        with self._lock:
            entry = self.entries.get(user_id)
            return None if entry is None else list(entry)

    def record(self, user_id: str, before: list[Proficiency]) -> None:
        with self._lock:
            self.entries[user_id] = list(before)
            self.recorded.append(user_id)


class JournalShelf:
    """A `JournalFactory` for `Job`: one FakeJournal per journal prefix, kept across batch attempts."""

    def __init__(self) -> None:
        self.journals: dict[str, FakeJournal] = {}
        self.opened: list[tuple[Store, str]] = []  # (store, prefix) of every journal asked for

    def __call__(self, store: Store, prefix: str) -> FakeJournal:
        self.opened.append((store, prefix))
        return self.journals.setdefault(prefix, FakeJournal())


if TYPE_CHECKING:  # mypy checks that every fake satisfies its port
    _connect: Connect = FakeConnect()
    _store: Store = FakeStore()
    _notifier: Notifier = FakeNotifier()
    _journal: Journal = FakeJournal()
    _journals: JournalFactory = JournalShelf()
