"""The Amazon Connect adapter: the engine's only way to the Connect APIs.

Every attempt, retries included, waits for its API's token before it is signed and sent, and
botocore's own retries (set explicitly) absorb the throttles and transient errors that remain. A
retry that skipped the bucket would spend a token promised to another caller and set off a chain
of throttles whenever anything else in the account used the same API. Errors come back as typed
exceptions carrying the API's error code and message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from connect_profiles.adapters.pacing import Pacer, uncancellable
from connect_profiles.contract import DEFAULT_CONNECT_MAX_ATTEMPTS
from connect_profiles.domain.model import IdentifierType, Proficiency
from connect_profiles.ports import (
    ACCESS_DENIED_CODES,
    LIST_ATTRIBUTES_PAGE,
    LIST_GROUPS_PAGE,
    LIST_USERS_PAGE,
    SEARCH_USERS_PAGE,
    ConnectCallError,
    ConnectUnavailable,
    ConnectUnreachable,
    GroupRef,
    PermissionDenied,
    UserRef,
)

PROFICIENCIES_PAGE = 100  # the API's maximum
# The network failed, not Connect: the same call may well go through later.
_NETWORK_ERRORS = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError)


def connect_client(
    pacer: Pacer,
    *,
    region: str | None = None,
    profile: str | None = None,
    pool_size: int = 32,
    attempts: int = DEFAULT_CONNECT_MAX_ATTEMPTS,
) -> Any:
    """A Connect client with explicit retries, every attempt paced by `pacer`; honours
    AWS_ENDPOINT_URL_CONNECT like any boto3 client.

    Standard mode retries throttles, 5xx and network errors with jittered backoff, writes included:
    a retried write whose first attempt was applied may be refused ("already associated"), and the
    engine settles every failed write by reading the user again, so a retry can never make the
    report wrong; it only saves a batch rerun when a blip is short."""
    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        max_pool_connections=pool_size,
        connect_timeout=5,
        read_timeout=30,
    )
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        client = session.client("connect", config=config)
    except BotoCoreError as error:
        raise ConnectUnavailable(str(error)) from error

    return pace_client(client, pacer)


# What Connect (and botocore's own throttle detection) calls a refusal for rate.
THROTTLE_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "LimitExceededException"})


def pace_client(client: Any, pacer: Pacer) -> Any:
    """Make every attempt of `client`, retries included, wait for its API's token first, and tell
    the pacer how each attempt went, so an API throttled despite pacing slows down and recovers."""

    def pace(operation_name: str, **_: Any) -> None:
        pacer.wait(operation_name)

    def observe(response: Any, operation: Any, **_: Any) -> None:
        # Runs for every attempt, before botocore decides whether to retry; returns no decision.
        if response is None:
            return  # a network error: nothing was metered
        http, parsed = response
        code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        if http.status_code == 429 or code in THROTTLE_CODES:
            pacer.throttled(operation.name)
        elif http.status_code < 400:
            pacer.succeeded(operation.name)

    client.meta.events.register("before-sign.connect", pace)
    client.meta.events.register("needs-retry.connect", observe)
    return client


class InstanceNotFound(ConnectUnavailable):
    """No such instance in the Region the client called: the id, or the Region, is wrong."""

    def __init__(self, instance_id: str, region: str, error: ConnectCallError) -> None:
        super().__init__(
            f"no Amazon Connect instance {instance_id} in Region {region} ({error.code}: {error.message}); "
            "check the instance id, and the Region (--region, AWS_REGION, AWS_DEFAULT_REGION or the profile)"
        )
        self.instance_id = instance_id
        self.region = region


class ConnectGateway:
    def __init__(self, client: Any, instance_id: str) -> None:
        self._client = client
        self.instance_id = instance_id
        self._retries = 0  # attempts botocore repeated (throttles, 5xx), for metrics
        self._lock = threading.Lock()

    @property
    def retries(self) -> int:
        return self._retries

    # --- reads --------------------------------------------------------------------------------

    def count_users(self) -> int:
        """The instance's approximate user count, from one SearchUsers call; also proves the instance
        exists and the credentials work before anything else is attempted."""
        response = self._on_the_instance("SearchUsers", self._client.search_users, MaxResults=1)
        return int(response.get("ApproximateTotalCount", 0))

    def list_users(self) -> Iterator[UserRef]:
        for page in self._pages("ListUsers", self._client.list_users, MaxResults=LIST_USERS_PAGE):
            for user in page["UserSummaryList"]:
                yield UserRef(user["Id"], user["Username"])

    def find_username(self, username: str) -> list[UserRef]:
        criteria = {
            "StringCondition": {"FieldName": "Username", "Value": username, "ComparisonType": "EXACT"}
        }
        pages = self._pages("SearchUsers", self._client.search_users, SearchCriteria=criteria, MaxResults=100)
        return [UserRef(user["Id"], user["Username"]) for page in pages for user in page["Users"]]

    def list_groups(self, kind: IdentifierType) -> list[GroupRef]:
        operation, list_key = _GROUP_LISTS[kind]
        method = getattr(self._client, _snake(operation))
        pages = self._pages(operation, method, MaxResults=LIST_GROUPS_PAGE)
        return [GroupRef(item["Id"], item["Name"]) for page in pages for item in page[list_key]]

    def group_members(self, kind: IdentifierType, group_id: str) -> list[UserRef]:
        criteria: dict[str, Any]
        if kind is IdentifierType.HIERARCHY_GROUP:
            # The group and every group beneath it: a department's row reaches its teams' agents.
            criteria = {
                "HierarchyGroupCondition": {"Value": group_id, "HierarchyGroupMatchType": "WITH_CHILD_GROUPS"}
            }
        else:
            field = _MEMBER_FIELDS[kind]
            criteria = {"StringCondition": {"FieldName": field, "Value": group_id, "ComparisonType": "EXACT"}}
        pages = self._pages(
            "SearchUsers", self._client.search_users, SearchCriteria=criteria, MaxResults=SEARCH_USERS_PAGE
        )
        return [UserRef(user["Id"], user["Username"]) for page in pages for user in page["Users"]]

    def list_proficiencies(self, user_id: str, *, settling: bool = False) -> list[Proficiency]:
        if settling:
            with uncancellable():
                return self.list_proficiencies(user_id)
        pages = self._pages(
            "ListUserProficiencies",
            self._client.list_user_proficiencies,
            UserId=user_id,
            MaxResults=PROFICIENCIES_PAGE,
        )
        return [
            Proficiency(item["AttributeName"], item["AttributeValue"], round(item["Level"]))
            for page in pages
            for item in page["UserProficiencyList"]
        ]

    def attribute_values(self, name: str) -> list[str] | None:
        """The predefined attribute's allowed values, or None when there is no such attribute."""
        try:
            response = self._call(
                "DescribePredefinedAttribute", self._client.describe_predefined_attribute, Name=name
            )
        except ConnectCallError as error:
            if error.not_found:
                return None
            raise
        return list(response["PredefinedAttribute"].get("Values", {}).get("StringList", []))

    def instance_alias(self) -> str:
        """The instance's alias (DescribeInstance), for the CLI to show where it is about to write;
        an unknown instance names the Region it was looked for in."""
        response = self._on_the_instance("DescribeInstance", self._client.describe_instance)
        return str(response["Instance"].get("InstanceAlias", ""))

    def attribute_names(self) -> list[str]:
        pages = self._pages(
            "ListPredefinedAttributes",
            self._client.list_predefined_attributes,
            MaxResults=LIST_ATTRIBUTES_PAGE,
        )
        return [item["Name"] for page in pages for item in page.get("PredefinedAttributeSummaryList", [])]

    # --- writes -------------------------------------------------------------------------------

    def associate(self, user_id: str, proficiencies: Iterable[Proficiency]) -> None:
        self._call(
            "AssociateUserProficiencies",
            self._client.associate_user_proficiencies,
            UserId=user_id,
            UserProficiencies=[_with_level(p) for p in proficiencies],
        )

    def update(self, user_id: str, proficiencies: Iterable[Proficiency]) -> None:
        self._call(
            "UpdateUserProficiencies",
            self._client.update_user_proficiencies,
            UserId=user_id,
            UserProficiencies=[_with_level(p) for p in proficiencies],
        )

    def disassociate(self, user_id: str, keys: Iterable[tuple[str, str]]) -> None:
        # Disassociate entries carry name and value only: a Level here is a client-side error.
        self._call(
            "DisassociateUserProficiencies",
            self._client.disassociate_user_proficiencies,
            UserId=user_id,
            UserProficiencies=[{"AttributeName": name, "AttributeValue": value} for name, value in keys],
        )

    # --- plumbing -----------------------------------------------------------------------------

    def _call(self, operation: str, method: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
        try:
            response = method(InstanceId=self.instance_id, **params)
        except ClientError as error:
            self._count_retries(error.response)
            details = error.response.get("Error", {})
            code, message = details.get("Code", "Unknown"), details.get("Message", str(error))
            if code in ACCESS_DENIED_CODES:
                resource = f"Amazon Connect instance {self.instance_id}"
                raise PermissionDenied.from_aws(f"connect:{operation}", resource, message) from error
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            raise ConnectCallError(operation, code, message, status=status) from error
        except _NETWORK_ERRORS as error:
            raise ConnectUnreachable(f"{operation}: {error}") from error
        except BotoCoreError as error:
            raise ConnectUnavailable(f"{operation}: {error}") from error
        self._count_retries(response)
        return response

    def _on_the_instance(
        self, operation: str, method: Callable[..., dict[str, Any]], **params: Any
    ) -> dict[str, Any]:
        """A call that proves the instance exists: not found is InstanceNotFound, naming the Region.
        (Unrecognised credentials are an access-denied code: `_call` makes them PermissionDenied.)"""
        try:
            return self._call(operation, method, **params)
        except ConnectCallError as error:
            if error.not_found:
                raise InstanceNotFound(self.instance_id, self._client.meta.region_name, error) from error
            raise

    def _count_retries(self, response: dict[str, Any]) -> None:
        attempts = int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
        if attempts:
            with self._lock:
                self._retries += attempts

    def _pages(
        self, operation: str, method: Callable[..., dict[str, Any]], **params: Any
    ) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = self._call(operation, method, **params, **({"NextToken": token} if token else {}))
            yield page
            token = page.get("NextToken")
            if not token:
                return


_GROUP_LISTS: dict[IdentifierType, tuple[str, str]] = {
    IdentifierType.ROUTING_PROFILE: ("ListRoutingProfiles", "RoutingProfileSummaryList"),
    IdentifierType.SECURITY_PROFILE: ("ListSecurityProfiles", "SecurityProfileSummaryList"),
    IdentifierType.HIERARCHY_GROUP: ("ListUserHierarchyGroups", "UserHierarchyGroupSummaryList"),
}
_MEMBER_FIELDS = {
    IdentifierType.ROUTING_PROFILE: "RoutingProfileId",
    IdentifierType.SECURITY_PROFILE: "SecurityProfileId",
}


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def _with_level(proficiency: Proficiency) -> dict[str, Any]:
    return {
        "AttributeName": proficiency.attribute,
        "AttributeValue": proficiency.value,
        "Level": float(proficiency.level),
    }
