"""The Connect emulator, driven only through a stock boto3 client over HTTP on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from connect_emulator import (
    DEFAULT_CALLER_ARN,
    AllowActions,
    Behaviour,
    Faults,
    Instance,
    OnAssociateExisting,
    OnDisassociateMissing,
    Outage,
    Quota,
    generate_seed,
    instance_from_seed,
)
from tests.conftest import EmulatorFactory, RunningEmulator


def _proficiency(attribute: str, value: str, level: float | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"AttributeName": attribute, "AttributeValue": value}
    if level is not None:
        item["Level"] = level
    return item


def _error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def _held(client: Any, instance_id: str, user_id: str) -> dict[tuple[str, str], float]:
    pages = client.get_paginator("list_user_proficiencies").paginate(InstanceId=instance_id, UserId=user_id)
    return {
        (p["AttributeName"], p["AttributeValue"]): p["Level"]
        for page in pages
        for p in page["UserProficiencyList"]
    }


def _add_level_to_body(request: Any, **_: Any) -> None:
    body = json.loads(request.body)
    body["UserProficiencies"][0]["Level"] = 3
    request.body = json.dumps(body).encode()
    request.headers["Content-Length"] = str(len(request.body))


@pytest.fixture
def bare_user(emulator: RunningEmulator) -> str:
    """A user of the sample instance holding no proficiencies."""
    user = emulator.instance.add_user("test.agent")
    return user.id


class TestUsers:
    def test_list_users_paginator_returns_every_user_in_pages(self, emulator: RunningEmulator) -> None:
        # Given the sample instance of 50 users
        client = emulator.client()
        # When listing 20 at a time through boto3's paginator
        pages = list(
            client.get_paginator("list_users").paginate(
                InstanceId=emulator.instance.id, PaginationConfig={"PageSize": 20}
            )
        )
        # Then three pages hold all 50 users once each
        assert [len(page["UserSummaryList"]) for page in pages] == [20, 20, 10]
        ids = {user["Id"] for page in pages for user in page["UserSummaryList"]}
        assert ids == set(emulator.instance.users)
        assert emulator.service.stats().calls["ListUsers"] == 3

    def test_list_users_refuses_more_than_1000_per_page(self, emulator: RunningEmulator) -> None:
        with pytest.raises(ClientError) as raised:
            emulator.client().list_users(InstanceId=emulator.instance.id, MaxResults=1001)
        assert _error_code(raised.value) == "InvalidParameterException"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "valid max value: 1000" in str(raised.value)
        # A request refused by the model still counts against its operation
        stats = emulator.service.stats()
        assert (stats.requests["ListUsers"], stats.errors["ListUsers"]) == (1, 1)

    def test_unknown_instance_and_user_are_resource_not_found(self, emulator: RunningEmulator) -> None:
        client = emulator.client()
        with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
            client.list_users(InstanceId="00000000-0000-0000-0000-000000000000")
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.describe_user(InstanceId=emulator.instance.id, UserId="no-such-user")

    def test_describe_instance_names_the_instance_and_refuses_an_unknown_one(
        self, emulator: RunningEmulator
    ) -> None:
        client = emulator.client()
        described = client.describe_instance(InstanceId=emulator.instance.id)["Instance"]
        assert (described["Id"], described["Arn"]) == (emulator.instance.id, emulator.instance.arn)
        assert described["InstanceAlias"] == "sample-contact-centre"  # the seed's alias
        assert described["InstanceStatus"] == "ACTIVE"
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.describe_instance(InstanceId="00000000-0000-4000-8000-000000000000")

    def test_describe_user_returns_the_seeded_user(self, emulator: RunningEmulator) -> None:
        user = next(iter(emulator.instance.users.values()))
        described = emulator.client().describe_user(InstanceId=emulator.instance.id, UserId=user.id)["User"]
        assert described["Username"] == user.username
        assert described["Arn"].endswith(f"instance/{emulator.instance.id}/agent/{user.id}")

    def test_create_user_then_find_it_by_exact_username(self, emulator: RunningEmulator) -> None:
        client = emulator.client()
        created = client.create_user(
            InstanceId=emulator.instance.id,
            Username="New.Agent",
            PhoneConfig={"PhoneType": "SOFT_PHONE"},
            SecurityProfileIds=["agent-profile"],
            RoutingProfileId="basic-routing",
        )
        found = client.search_users(
            InstanceId=emulator.instance.id,
            SearchCriteria={
                "StringCondition": {"FieldName": "Username", "Value": "New.Agent", "ComparisonType": "EXACT"}
            },
        )["Users"]
        assert [user["Id"] for user in found] == [created["UserId"]]
        with pytest.raises(client.exceptions.DuplicateResourceException):
            client.create_user(
                InstanceId=emulator.instance.id,
                Username="New.Agent",
                PhoneConfig={"PhoneType": "SOFT_PHONE"},
                SecurityProfileIds=["agent-profile"],
                RoutingProfileId="basic-routing",
            )

    def test_search_exact_is_case_sensitive_and_starts_with_is_not(self, emulator: RunningEmulator) -> None:
        client = emulator.client()

        def search(value: str, comparison: str) -> list[str]:
            criteria = {
                "StringCondition": {"FieldName": "Username", "Value": value, "ComparisonType": comparison}
            }
            pages = client.get_paginator("search_users").paginate(
                InstanceId=emulator.instance.id, SearchCriteria=criteria
            )
            return [user["Username"] for page in pages for user in page["Users"]]

        assert search("Maria.Garcia", "EXACT") == ["Maria.Garcia"]
        assert search("maria.garcia", "EXACT") == []
        assert search("maria.", "STARTS_WITH") == ["Maria.Garcia"]

    def test_search_users_pages_through_matches(self, emulator: RunningEmulator) -> None:
        pages = list(
            emulator.client()
            .get_paginator("search_users")
            .paginate(InstanceId=emulator.instance.id, PaginationConfig={"PageSize": 30})
        )
        assert [len(page["Users"]) for page in pages] == [30, 20]
        assert pages[0]["ApproximateTotalCount"] == 50


def _username_condition(value: str, comparison: str = "EXACT") -> dict[str, Any]:
    return {"StringCondition": {"FieldName": "Username", "Value": value, "ComparisonType": comparison}}


class TestSearchUsersIsStrict:
    """What the emulator does not implement is refused, never ignored: ignoring a condition would
    answer more users than AWS does."""

    def test_contains_takes_two_to_twenty_five_characters(self, emulator: RunningEmulator) -> None:
        client, instance_id = emulator.client(), emulator.instance.id
        found = client.search_users(
            InstanceId=instance_id, SearchCriteria=_username_condition("ia", "CONTAINS")
        )
        assert "Maria.Garcia" in [user["Username"] for user in found["Users"]]
        for value in ("a", "x" * 26):
            with pytest.raises(client.exceptions.InvalidParameterException, match="2 to 25 characters"):
                client.search_users(
                    InstanceId=instance_id, SearchCriteria=_username_condition(value, "CONTAINS")
                )

    @pytest.mark.parametrize(
        ("criteria", "message"),
        [
            ({"StringCondition": {"FieldName": "Email", "Value": "x", "ComparisonType": "EXACT"}}, "Email"),
            (
                {"StringCondition": {"FieldName": "username", "Value": "x", "ComparisonType": "EXACT"}},
                "username",
            ),
            ({"StringCondition": {"FieldName": "Username", "Value": "x"}}, "ComparisonType"),
            (
                {
                    "StringCondition": {
                        "FieldName": "resourceId",
                        "Value": "x",
                        "ComparisonType": "STARTS_WITH",
                    }
                },
                "STARTS_WITH",
            ),
            ({"HierarchyGroupCondition": {"Value": "g"}}, "HierarchyGroupMatchType"),
            ({"HierarchyGroupCondition": {"HierarchyGroupMatchType": "EXACT"}}, "Value"),
            (
                {"HierarchyGroupCondition": {"Value": "g", "HierarchyGroupMatchType": "WITH_PARENTS"}},
                "HierarchyGroupMatchType",
            ),
            (
                {
                    "ListCondition": {
                        "TargetListType": "PROFICIENCIES",
                        "Conditions": [{"StringCondition": {"FieldName": "language", "Value": "English"}}],
                    }
                },
                "ListCondition",
            ),
            ({"AndConditions": []}, "at least one"),
            ({}, "exactly one"),
            ({**_username_condition("jdoe"), "OrConditions": [_username_condition("x")]}, "exactly one"),
            (
                {
                    "OrConditions": [
                        _username_condition("jdoe"),
                        {"ListCondition": {"TargetListType": "PROFICIENCIES", "Conditions": []}},
                    ]
                },
                "ListCondition",
            ),
        ],
    )
    def test_criteria_the_emulator_does_not_implement_are_refused(
        self, emulator: RunningEmulator, criteria: dict[str, Any], message: str
    ) -> None:
        # A client that skips botocore's checks, so even members unknown to the model reach the server
        client = boto3.client(
            "connect",
            endpoint_url=emulator.endpoint_url,
            config=Config(parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        with pytest.raises(client.exceptions.InvalidParameterException, match=message):
            client.search_users(InstanceId=emulator.instance.id, SearchCriteria=criteria)

    def test_a_search_filter_is_refused(self, emulator: RunningEmulator) -> None:
        client = emulator.client()
        with pytest.raises(client.exceptions.InvalidParameterException, match="SearchFilter"):
            client.search_users(
                InstanceId=emulator.instance.id,
                SearchFilter={"TagFilter": {"TagCondition": {"TagKey": "team", "TagValue": "a"}}},
            )

    def test_routing_profile_and_security_profile_ids_match_whole(self, emulator: RunningEmulator) -> None:
        client, instance_id = emulator.client(), emulator.instance.id
        emulator.instance.add_user(
            "routed.agent", routing_profile_id="rp-1", security_profile_ids=["sp-1", "sp-2"]
        )

        def usernames(field: str, value: str) -> list[str]:
            criteria = {"StringCondition": {"FieldName": field, "Value": value, "ComparisonType": "EXACT"}}
            return [
                u["Username"]
                for u in client.search_users(InstanceId=instance_id, SearchCriteria=criteria)["Users"]
            ]

        assert usernames("RoutingProfileId", "rp-1") == ["routed.agent"]
        assert usernames("SecurityProfileId", "sp-2") == ["routed.agent"]
        assert usernames("RoutingProfileId", "rp") == []


class TestPagination:
    def test_a_next_token_only_continues_the_request_that_made_it(
        self, emulator: RunningEmulator, bare_user: str
    ) -> None:
        # Given a first page of ListUsers and of a SearchUsers, each with a NextToken
        client, instance_id = emulator.client(), emulator.instance.id
        users_token = client.list_users(InstanceId=instance_id, MaxResults=2)["NextToken"]
        search_token = client.search_users(
            InstanceId=instance_id, MaxResults=2, SearchCriteria=_username_condition("a", "STARTS_WITH")
        )["NextToken"]
        # Then a token continues its own request, page size aside
        client.list_users(InstanceId=instance_id, MaxResults=5, NextToken=users_token)
        client.search_users(
            InstanceId=instance_id,
            NextToken=search_token,
            SearchCriteria=_username_condition("a", "STARTS_WITH"),
        )
        # and nothing else: another operation, another filter, another user, another instance
        other_instance = emulator.service.add_instance(Instance("22222222-2222-4333-8444-555555555555"))
        for index in range(3):
            other_instance.add_user(f"other.agent{index}")
        others: list[Callable[[], Any]] = [
            lambda: client.list_users(InstanceId=other_instance.id, NextToken=users_token),
            lambda: client.list_predefined_attributes(InstanceId=instance_id, NextToken=users_token),
            lambda: client.search_users(InstanceId=instance_id, NextToken=users_token),
            lambda: client.search_users(
                InstanceId=instance_id,
                NextToken=search_token,
                SearchCriteria=_username_condition("b", "STARTS_WITH"),
            ),
            lambda: client.list_user_proficiencies(
                InstanceId=instance_id, UserId=bare_user, NextToken=users_token
            ),
        ]
        for call in others:
            with pytest.raises(client.exceptions.InvalidParameterException, match="different request"):
                call()

    def test_a_next_token_is_bound_to_its_user(self, start_emulator: EmulatorFactory) -> None:
        # Given two users holding three proficiencies each, listed one per page
        running = start_emulator()
        client, instance_id = running.client(), running.instance.id
        first, second = running.instance.add_user("first.agent"), running.instance.add_user("second.agent")
        for user in (first, second):
            for value in ("English", "Spanish", "French"):
                running.instance.set_proficiency(user.id, "language", value, 2)
        token = client.list_user_proficiencies(InstanceId=instance_id, UserId=first.id, MaxResults=1)[
            "NextToken"
        ]
        # Then the first user's token does not page through the second user
        with pytest.raises(client.exceptions.InvalidParameterException, match="different request"):
            client.list_user_proficiencies(InstanceId=instance_id, UserId=second.id, NextToken=token)

    def test_a_forged_token_is_refused(self, emulator: RunningEmulator) -> None:
        client = emulator.client()
        with pytest.raises(client.exceptions.InvalidParameterException, match="NextToken is not valid"):
            client.list_users(InstanceId=emulator.instance.id, NextToken="b2Zmc2V0OjEw")  # "offset:10"

    @pytest.mark.parametrize(
        ("method", "items", "params", "max_results"),
        [
            ("list_users", "UserSummaryList", {}, 1000),
            ("search_users", "Users", {}, 500),
            ("list_predefined_attributes", "PredefinedAttributeSummaryList", {}, 100),
        ],
    )
    def test_the_page_cap_holds_whatever_max_results_asks(
        self,
        start_emulator: EmulatorFactory,
        method: str,
        items: str,
        params: dict[str, Any],
        max_results: int,
    ) -> None:
        # Given an emulator that answers at most 2 items per page
        running = start_emulator(behaviour=Behaviour(page_cap=2))
        client = running.client()
        # When a client asks the model's maximum on one page
        page = getattr(client, method)(InstanceId=running.instance.id, MaxResults=max_results, **params)
        # Then it gets 2 items and a NextToken, and the paginator still collects everything
        assert len(page[items]) == 2
        assert "NextToken" in page
        pages = client.get_paginator(method).paginate(
            InstanceId=running.instance.id, PaginationConfig={"PageSize": max_results}
        )
        assert all(len(p[items]) <= 2 for p in pages)
        collected = [
            item
            for p in client.get_paginator(method).paginate(InstanceId=running.instance.id)
            for item in p[items]
        ]
        expected = len(running.instance.attributes) if method == "list_predefined_attributes" else 50
        assert len(collected) == expected

    def test_the_page_cap_holds_for_list_user_proficiencies(self, start_emulator: EmulatorFactory) -> None:
        running = start_emulator(behaviour=Behaviour(page_cap=2))
        user = running.instance.add_user("paged.agent")
        for value in ("English", "Spanish", "French", "German", "Portuguese"):
            running.instance.set_proficiency(user.id, "language", value, 3)
        client = running.client()
        page = client.list_user_proficiencies(InstanceId=running.instance.id, UserId=user.id, MaxResults=100)
        assert len(page["UserProficiencyList"]) == 2
        assert len(_held(client, running.instance.id, user.id)) == 5


class TestProficiencies:
    def test_associate_update_disassociate_round_trip(
        self, emulator: RunningEmulator, bare_user: str
    ) -> None:
        client, instance_id = emulator.client(), emulator.instance.id
        client.associate_user_proficiencies(
            InstanceId=instance_id,
            UserId=bare_user,
            UserProficiencies=[_proficiency("language", "English", 3), _proficiency("tier", "Tier1", 1.0)],
        )
        client.update_user_proficiencies(
            InstanceId=instance_id,
            UserId=bare_user,
            UserProficiencies=[_proficiency("language", "English", 5)],
        )
        client.disassociate_user_proficiencies(
            InstanceId=instance_id, UserId=bare_user, UserProficiencies=[_proficiency("tier", "Tier1")]
        )
        assert _held(client, instance_id, bare_user) == {("language", "English"): 5.0}
        writes = [(w.operation, w.user_id) for w in emulator.service.stats().writes]
        assert writes == [
            ("AssociateUserProficiencies", bare_user),
            ("UpdateUserProficiencies", bare_user),
            ("DisassociateUserProficiencies", bare_user),
        ]

    def test_list_user_proficiencies_paginates(self, emulator: RunningEmulator, bare_user: str) -> None:
        client, instance_id = emulator.client(), emulator.instance.id
        values = ["English", "Spanish", "French", "German", "Portuguese"]
        client.associate_user_proficiencies(
            InstanceId=instance_id,
            UserId=bare_user,
            UserProficiencies=[_proficiency("language", value, 2) for value in values],
        )
        pages = list(
            client.get_paginator("list_user_proficiencies").paginate(
                InstanceId=instance_id, UserId=bare_user, PaginationConfig={"PageSize": 2}
            )
        )
        assert [len(page["UserProficiencyList"]) for page in pages] == [2, 2, 1]
        with pytest.raises(client.exceptions.InvalidParameterException):
            client.list_user_proficiencies(InstanceId=instance_id, UserId=bare_user, MaxResults=101)

    @pytest.mark.parametrize("level", [6, 5.5, 2.5, 100])
    def test_levels_outside_one_to_five_or_not_whole_are_refused(
        self, emulator: RunningEmulator, bare_user: str, level: float
    ) -> None:
        client = emulator.client()
        with pytest.raises(client.exceptions.InvalidParameterException):
            client.associate_user_proficiencies(
                InstanceId=emulator.instance.id,
                UserId=bare_user,
                UserProficiencies=[_proficiency("language", "English", level)],
            )
        assert _held(client, emulator.instance.id, bare_user) == {}

    def test_level_zero_is_refused_by_botocore_before_sending(
        self, emulator: RunningEmulator, bare_user: str
    ) -> None:
        with pytest.raises(ParamValidationError):
            emulator.client().associate_user_proficiencies(
                InstanceId=emulator.instance.id,
                UserId=bare_user,
                UserProficiencies=[_proficiency("language", "English", 0)],
            )
        assert emulator.service.stats().requests["AssociateUserProficiencies"] == 0

    def test_model_constraints_are_enforced_server_side(
        self, emulator: RunningEmulator, bare_user: str
    ) -> None:
        # Given a client that skips botocore's own checks, as another SDK might
        client = boto3.client(
            "connect",
            endpoint_url=emulator.endpoint_url,
            config=Config(parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        instance_id = emulator.instance.id
        # Then: Level is not a member of a disassociate entry (botocore cannot even serialise it, so
        # add it to the body on its way out, as a hand-written client would send it)
        client.meta.events.register("before-send.connect.DisassociateUserProficiencies", _add_level_to_body)
        with pytest.raises(client.exceptions.InvalidParameterException) as unknown_member:
            client.disassociate_user_proficiencies(
                InstanceId=instance_id,
                UserId=bare_user,
                UserProficiencies=[_proficiency("language", "English")],
            )
        assert 'Unknown parameter in UserProficiencies[0]: "Level"' in str(unknown_member.value)
        # and a required member, a minimum and a maximum length are all checked
        with pytest.raises(client.exceptions.InvalidParameterException, match="Missing required parameter"):
            client.associate_user_proficiencies(
                InstanceId=instance_id, UserId=bare_user, UserProficiencies=[{"AttributeName": "language"}]
            )
        with pytest.raises(client.exceptions.InvalidParameterException, match="valid min value: 1"):
            client.associate_user_proficiencies(
                InstanceId=instance_id,
                UserId=bare_user,
                UserProficiencies=[_proficiency("language", "English", 0)],
            )
        with pytest.raises(client.exceptions.InvalidParameterException, match="valid max length: 100"):
            client.describe_predefined_attribute(InstanceId=instance_id, Name="x" * 101)

    def test_unknown_attribute_and_unknown_value_are_refused(
        self, emulator: RunningEmulator, bare_user: str
    ) -> None:
        client = emulator.client()
        with pytest.raises(client.exceptions.ResourceNotFoundException, match="shoe size"):
            client.associate_user_proficiencies(
                InstanceId=emulator.instance.id,
                UserId=bare_user,
                UserProficiencies=[_proficiency("shoe size", "42", 3)],
            )
        with pytest.raises(client.exceptions.InvalidParameterException, match="Klingon"):
            client.associate_user_proficiencies(
                InstanceId=emulator.instance.id,
                UserId=bare_user,
                UserProficiencies=[_proficiency("language", "Klingon", 3)],
            )

    def test_update_of_a_proficiency_not_associated_is_refused(
        self, emulator: RunningEmulator, bare_user: str
    ) -> None:
        client = emulator.client()
        with pytest.raises(client.exceptions.InvalidRequestException, match="not associated"):
            client.update_user_proficiencies(
                InstanceId=emulator.instance.id,
                UserId=bare_user,
                UserProficiencies=[_proficiency("language", "English", 3)],
            )

    def test_per_agent_limit_is_enforced_and_nothing_in_the_call_applies(
        self, start_emulator: EmulatorFactory
    ) -> None:
        running = start_emulator(behaviour=Behaviour(max_proficiencies_per_agent=3))
        user = running.instance.add_user("limited.agent")
        client = running.client()
        too_many = [_proficiency("language", v, 2) for v in ("English", "Spanish", "French", "German")]
        with pytest.raises(client.exceptions.InvalidRequestException, match="at most 3 proficiencies"):
            client.associate_user_proficiencies(
                InstanceId=running.instance.id, UserId=user.id, UserProficiencies=too_many
            )
        assert _held(client, running.instance.id, user.id) == {}
        client.associate_user_proficiencies(
            InstanceId=running.instance.id, UserId=user.id, UserProficiencies=too_many[:3]
        )
        assert len(_held(client, running.instance.id, user.id)) == 3

    def test_associate_existing_is_refused_by_default_and_nothing_in_the_call_applies(
        self, emulator: RunningEmulator, bare_user: str
    ) -> None:
        # Given a user holding tier=Tier2 at 2
        client, instance_id = emulator.client(), emulator.instance.id
        client.associate_user_proficiencies(
            InstanceId=instance_id, UserId=bare_user, UserProficiencies=[_proficiency("tier", "Tier2", 2)]
        )
        # When one call associates it again beside a new pair
        with pytest.raises(client.exceptions.InvalidRequestException, match="already associated"):
            client.associate_user_proficiencies(
                InstanceId=instance_id,
                UserId=bare_user,
                UserProficiencies=[_proficiency("tier", "Tier2", 4), _proficiency("tier", "Tier3", 1)],
            )
        # Then the call is refused whole: the old level stands and the new pair is not added
        assert _held(client, instance_id, bare_user) == {("tier", "Tier2"): 2.0}

    def test_associate_existing_can_be_configured_to_overwrite(self, start_emulator: EmulatorFactory) -> None:
        running = start_emulator(behaviour=Behaviour(on_associate_existing=OnAssociateExisting.OVERWRITE))
        user = running.instance.add_user("lenient.agent")
        client = running.client()
        for level in (2, 4):
            client.associate_user_proficiencies(
                InstanceId=running.instance.id,
                UserId=user.id,
                UserProficiencies=[_proficiency("tier", "Tier2", level)],
            )
        assert _held(client, running.instance.id, user.id) == {("tier", "Tier2"): 4.0}

    def test_disassociate_missing_is_refused_by_default_and_nothing_in_the_call_applies(
        self, emulator: RunningEmulator, bare_user: str
    ) -> None:
        client, instance_id = emulator.client(), emulator.instance.id
        client.associate_user_proficiencies(
            InstanceId=instance_id, UserId=bare_user, UserProficiencies=[_proficiency("tier", "Tier1", 1)]
        )
        with pytest.raises(client.exceptions.InvalidRequestException, match="not associated"):
            client.disassociate_user_proficiencies(
                InstanceId=instance_id,
                UserId=bare_user,
                UserProficiencies=[_proficiency("tier", "Tier1"), _proficiency("tier", "Tier3")],
            )
        assert _held(client, instance_id, bare_user) == {("tier", "Tier1"): 1.0}

    def test_disassociate_missing_can_be_configured_to_be_ignored(
        self, start_emulator: EmulatorFactory
    ) -> None:
        running = start_emulator(behaviour=Behaviour(on_disassociate_missing=OnDisassociateMissing.IGNORE))
        user = running.instance.add_user("lenient.agent")
        running.client().disassociate_user_proficiencies(
            InstanceId=running.instance.id,
            UserId=user.id,
            UserProficiencies=[_proficiency("tier", "Tier3")],
        )
        assert running.service.stats().calls["DisassociateUserProficiencies"] == 1

    @pytest.mark.parametrize(
        "operation",
        ["associate_user_proficiencies", "update_user_proficiencies", "disassociate_user_proficiencies"],
    )
    def test_a_write_of_no_proficiencies_is_refused(
        self, emulator: RunningEmulator, bare_user: str, operation: str
    ) -> None:
        # The model sets no minimum on the list, so botocore sends `[]`: the service refuses it
        client = emulator.client()
        with pytest.raises(client.exceptions.InvalidParameterException, match="at least one"):
            getattr(client, operation)(
                InstanceId=emulator.instance.id, UserId=bare_user, UserProficiencies=[]
            )

    @pytest.mark.parametrize(
        ("operation", "with_level"),
        [
            ("associate_user_proficiencies", True),
            ("update_user_proficiencies", True),
            ("disassociate_user_proficiencies", False),
        ],
    )
    def test_a_pair_named_twice_in_one_call_is_refused_and_nothing_applies(
        self, emulator: RunningEmulator, bare_user: str, operation: str, with_level: bool
    ) -> None:
        # Given a user holding language=English at 1
        client, instance_id = emulator.client(), emulator.instance.id
        client.associate_user_proficiencies(
            InstanceId=instance_id,
            UserId=bare_user,
            UserProficiencies=[_proficiency("language", "English", 1)],
        )
        # When one call names language=English twice (at two levels, where levels are sent)
        twice = [
            _proficiency("language", "English", 2 if with_level else None),
            _proficiency("language", "English", 3 if with_level else None),
        ]
        with pytest.raises(client.exceptions.InvalidParameterException, match="more than once"):
            getattr(client, operation)(InstanceId=instance_id, UserId=bare_user, UserProficiencies=twice)
        # Then nothing changed
        assert _held(client, instance_id, bare_user) == {("language", "English"): 1.0}


class TestPredefinedAttributes:
    def test_list_describe_create_update(self, emulator: RunningEmulator) -> None:
        client, instance_id = emulator.client(), emulator.instance.id
        client.create_predefined_attribute(
            InstanceId=instance_id, Name="channel", Values={"StringList": ["Voice", "Chat"]}
        )
        with pytest.raises(client.exceptions.DuplicateResourceException):
            client.create_predefined_attribute(
                InstanceId=instance_id, Name="channel", Values={"StringList": ["X"]}
            )
        client.update_predefined_attribute(
            InstanceId=instance_id, Name="channel", Values={"StringList": ["Voice", "Chat", "Email"]}
        )
        described = client.describe_predefined_attribute(InstanceId=instance_id, Name="channel")
        assert described["PredefinedAttribute"]["Values"]["StringList"] == ["Voice", "Chat", "Email"]
        pages = list(
            client.get_paginator("list_predefined_attributes").paginate(
                InstanceId=instance_id, PaginationConfig={"PageSize": 2}
            )
        )
        names = [a["Name"] for page in pages for a in page["PredefinedAttributeSummaryList"]]
        assert names == sorted(["channel", "language", "product", "region", "skill", "tier"])
        assert len(pages) == 3

    def test_describe_names_with_spaces_are_url_decoded(self, emulator: RunningEmulator) -> None:
        described = emulator.client().describe_predefined_attribute(
            InstanceId=emulator.instance.id, Name="skill"
        )
        assert "Technical Support" in described["PredefinedAttribute"]["Values"]["StringList"]
        emulator.instance.add_attribute("contact reason", ["Card lost"])
        described = emulator.client().describe_predefined_attribute(
            InstanceId=emulator.instance.id, Name="contact reason"
        )
        assert described["PredefinedAttribute"]["Values"]["StringList"] == ["Card lost"]


class FakeClock:
    """The emulator's clock, moved only by the test: throttling then depends on the test's steps,
    never on how fast the machine runs it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TestQuotas:
    def test_a_burst_beyond_five_is_throttled_with_429(self, start_emulator: EmulatorFactory) -> None:
        # Given Connect's default quota: 2 requests/s, burst 5, per API, and a clock that stands still
        running = start_emulator(quota=Quota(rate=2.0, burst=5), clock=FakeClock())
        client = running.client()
        # When 8 ListUsers calls arrive at once
        outcomes = []
        for _ in range(8):
            try:
                client.list_users(InstanceId=running.instance.id, MaxResults=1)
                outcomes.append("ok")
            except client.exceptions.ThrottlingException as error:
                outcomes.append(f"throttled {error.response['ResponseMetadata']['HTTPStatusCode']}")
        # Then the burst of 5 passes, the rest are throttled, and another API has its own bucket
        assert outcomes == ["ok"] * 5 + ["throttled 429"] * 3
        client.list_predefined_attributes(InstanceId=running.instance.id)
        stats = running.service.stats()
        assert stats.throttles["ListUsers"] == 3
        assert stats.throttles.get("ListPredefinedAttributes", 0) == 0

    def test_tokens_refill_at_the_rate(self, start_emulator: EmulatorFactory) -> None:
        # Given 8 tokens a second, a bucket of 1, already spent (steps are powers of two, exact)
        clock = FakeClock()
        running = start_emulator(quota=Quota(rate=8.0, burst=1), clock=clock)
        client = running.client()
        client.list_users(InstanceId=running.instance.id, MaxResults=1)
        # Then half a token's time is not enough, a whole one is
        clock.advance(0.0625)
        with pytest.raises(client.exceptions.ThrottlingException):
            client.list_users(InstanceId=running.instance.id, MaxResults=1)
        clock.advance(0.0625)
        client.list_users(InstanceId=running.instance.id, MaxResults=1)
        # and a long pause refills the bucket to its size only
        clock.advance(60)
        client.list_users(InstanceId=running.instance.id, MaxResults=1)
        with pytest.raises(client.exceptions.ThrottlingException):
            client.list_users(InstanceId=running.instance.id, MaxResults=1)

    def test_botocore_retries_absorb_throttling(self, start_emulator: EmulatorFactory) -> None:
        # Given 2 tokens a second, a bucket of 2, and a clock that moves a quarter second per attempt
        clock = FakeClock()
        running = start_emulator(quota=Quota(rate=2.0, burst=2), clock=clock)
        client = running.client(attempts=10)
        client.meta.events.register("before-send.connect", lambda **_: clock.advance(0.25))
        # When 6 calls are made with retries
        for _ in range(6):
            client.list_users(InstanceId=running.instance.id, MaxResults=1)
        # Then all succeed: after the burst and one saved half token, every other attempt finds one
        stats = running.service.stats()
        assert stats.calls["ListUsers"] == 6
        assert stats.throttles["ListUsers"] == 3

    def test_quotas_can_differ_per_api(self, start_emulator: EmulatorFactory) -> None:
        running = start_emulator(
            quota=Quota(rate=1.0, burst=1), quotas={"ListUsers": Quota(rate=1.0, burst=3)}, clock=FakeClock()
        )
        client = running.client()
        for _ in range(3):
            client.list_users(InstanceId=running.instance.id, MaxResults=1)
        with pytest.raises(client.exceptions.ThrottlingException):
            client.list_users(InstanceId=running.instance.id, MaxResults=1)
        client.list_predefined_attributes(InstanceId=running.instance.id)
        with pytest.raises(client.exceptions.ThrottlingException):
            client.list_predefined_attributes(InstanceId=running.instance.id)


class TestFaults:
    def test_injected_internal_errors_are_500_and_apply_nothing(
        self, start_emulator: EmulatorFactory
    ) -> None:
        running = start_emulator(
            faults=Faults(rate=1.0, operations=frozenset({"AssociateUserProficiencies"}))
        )
        user = running.instance.add_user("unlucky.agent")
        client = running.client()
        with pytest.raises(client.exceptions.InternalServiceException) as raised:
            client.associate_user_proficiencies(
                InstanceId=running.instance.id,
                UserId=user.id,
                UserProficiencies=[_proficiency("tier", "Tier1", 1)],
            )
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert _held(client, running.instance.id, user.id) == {}
        assert running.service.stats().writes == []

    def test_faults_follow_a_fixed_seed(self, start_emulator: EmulatorFactory) -> None:
        def failures_seen() -> list[int]:
            running = start_emulator(faults=Faults(rate=0.3, seed=42))
            client = running.client()
            failed = []
            for attempt in range(20):
                try:
                    client.list_predefined_attributes(InstanceId=running.instance.id)
                except client.exceptions.InternalServiceException:
                    failed.append(attempt)
            assert running.service.stats().faults["ListPredefinedAttributes"] == len(failed)
            return failed

        first = failures_seen()
        assert 0 < len(first) < 20
        assert failures_seen() == first

    def test_botocore_retries_absorb_injected_faults(self, start_emulator: EmulatorFactory) -> None:
        running = start_emulator(faults=Faults(rate=0.2, seed=7))
        client = running.client(attempts=10)
        for _ in range(5):
            client.list_predefined_attributes(InstanceId=running.instance.id)
        assert running.service.stats().calls["ListPredefinedAttributes"] == 5

    def test_a_lost_response_applies_the_write_then_answers_500(
        self, start_emulator: EmulatorFactory
    ) -> None:
        # Given every Associate's response lost on its way back
        running = start_emulator(
            faults=Faults(rate=1.0, operations=frozenset({"AssociateUserProficiencies"}), when="after")
        )
        user = running.instance.add_user("unlucky.agent")
        client = running.client()
        # When the client associates a pair
        with pytest.raises(client.exceptions.InternalServiceException) as raised:
            client.associate_user_proficiencies(
                InstanceId=running.instance.id,
                UserId=user.id,
                UserProficiencies=[_proficiency("tier", "Tier1", 1)],
            )
        # Then it saw a 500, yet the change holds, and a blind retry is refused as already associated
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert _held(client, running.instance.id, user.id) == {("tier", "Tier1"): 1.0}
        with pytest.raises(client.exceptions.InternalServiceException):
            client.associate_user_proficiencies(
                InstanceId=running.instance.id,
                UserId=user.id,
                UserProficiencies=[_proficiency("tier", "Tier2", 1)],
            )
        stats = running.service.stats()
        assert [w.proficiencies for w in stats.writes] == [
            (("tier", "Tier1", 1.0),),
            (("tier", "Tier2", 1.0),),
        ]
        assert stats.lost_responses["AssociateUserProficiencies"] == 2
        assert stats.calls["AssociateUserProficiencies"] == 0

    def test_a_refused_write_is_not_turned_into_a_lost_response(
        self, start_emulator: EmulatorFactory
    ) -> None:
        running = start_emulator(faults=Faults(rate=1.0, when="after"))
        client = running.client()
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.associate_user_proficiencies(
                InstanceId=running.instance.id,
                UserId="no-such-user",
                UserProficiencies=[_proficiency("tier", "Tier1", 1)],
            )
        assert running.service.stats().lost_responses == {}

    def test_lost_responses_follow_a_fixed_seed_and_faults_combine_per_operation(
        self, start_emulator: EmulatorFactory
    ) -> None:
        def outcomes() -> list[str]:
            # Updates lose a seeded share of responses; ListUserProficiencies fails before running
            running = start_emulator(
                faults=[
                    Faults(rate=0.4, seed=3, operations=frozenset({"UpdateUserProficiencies"}), when="after"),
                    Faults(rate=1.0, operations=frozenset({"ListUserProficiencies"})),
                ]
            )
            user = running.instance.add_user("flaky.agent")
            running.instance.set_proficiency(user.id, "tier", "Tier1", 1)
            client = running.client()
            seen = []
            for level in (2, 3, 4, 5, 1, 2, 3, 4, 5, 1):
                try:
                    client.update_user_proficiencies(
                        InstanceId=running.instance.id,
                        UserId=user.id,
                        UserProficiencies=[_proficiency("tier", "Tier1", level)],
                    )
                    seen.append("ok")
                except client.exceptions.InternalServiceException:
                    seen.append("lost")
            with pytest.raises(client.exceptions.InternalServiceException):
                client.list_user_proficiencies(InstanceId=running.instance.id, UserId=user.id)
            # Every update was applied, lost or not
            assert user.proficiencies == {("tier", "Tier1"): 1.0}
            assert len(running.service.stats().writes) == 10
            return seen

        first = outcomes()
        assert "ok" in first
        assert "lost" in first
        assert outcomes() == first


class TestOutages:
    def test_the_first_calls_of_one_api_answer_500_and_apply_nothing(
        self, start_emulator: EmulatorFactory
    ) -> None:
        # Given an outage of Associate's first 3 requests
        running = start_emulator(outages=[Outage(operation="AssociateUserProficiencies", first_calls=3)])
        user = running.instance.add_user("waiting.agent")
        client, instance_id = running.client(), running.instance.id
        entry = [_proficiency("tier", "Tier1", 1)]
        # When Associate is called four times, with other APIs in between
        outcomes = []
        for _ in range(4):
            client.list_user_proficiencies(InstanceId=instance_id, UserId=user.id)
            try:
                client.associate_user_proficiencies(
                    InstanceId=instance_id, UserId=user.id, UserProficiencies=entry
                )
                outcomes.append("ok")
            except client.exceptions.InternalServiceException as error:
                outcomes.append(str(error.response["ResponseMetadata"]["HTTPStatusCode"]))
        # Then the first three failed with nothing applied, the fourth applied, other APIs unaffected
        assert outcomes == ["500", "500", "500", "ok"]
        assert len(running.service.stats().writes) == 1
        assert running.service.stats().outages == {"AssociateUserProficiencies": 3}
        assert running.service.stats().calls["ListUserProficiencies"] == 4

    def test_a_window_can_open_later(self, start_emulator: EmulatorFactory) -> None:
        running = start_emulator(outages=[Outage(operation="ListUsers", start_after=2, count=2)])
        client = running.client()
        outcomes = []
        for _ in range(6):
            try:
                client.list_users(InstanceId=running.instance.id, MaxResults=1)
                outcomes.append("ok")
            except client.exceptions.InternalServiceException:
                outcomes.append("500")
        assert outcomes == ["ok", "ok", "500", "500", "ok", "ok"]

    def test_a_window_counts_requests_not_time(self, start_emulator: EmulatorFactory) -> None:
        # Given an outage of the first 2 ListUsers and a clock far ahead between them
        clock = FakeClock()
        running = start_emulator(outages=[Outage(operation="ListUsers", first_calls=2)], clock=clock)
        client = running.client(attempts=3)
        client.meta.events.register("before-send.connect", lambda **_: clock.advance(3600))
        # Then a client retrying 3 times gets through on its third attempt
        client.list_users(InstanceId=running.instance.id, MaxResults=1)
        log = running.service.request_log()
        assert [record.outcome for record in log] == ["outage", "outage", "answered"]

    def test_outage_options_are_checked(self) -> None:
        with pytest.raises(ValueError, match="either first_calls"):
            Outage(operation="ListUsers", first_calls=2, count=3)


class TestRequestLog:
    def test_every_request_is_logged_in_order_with_the_emulator_clock(
        self, start_emulator: EmulatorFactory
    ) -> None:
        # Given a fake clock and a ListUsers throttle of one token, refilled in 2 s
        clock = FakeClock(start=50.0)
        running = start_emulator(clock=clock, quotas={"ListUsers": Quota(rate=0.5, burst=1)})
        user = running.instance.add_user("logged.agent")
        client, instance_id = running.client(), running.instance.id
        # When a read, a write, a refused write and a throttled call arrive
        client.list_users(InstanceId=instance_id, MaxResults=1)
        clock.advance(0.5)
        client.associate_user_proficiencies(
            InstanceId=instance_id, UserId=user.id, UserProficiencies=[_proficiency("tier", "Tier1", 2)]
        )
        clock.advance(0.5)
        with pytest.raises(client.exceptions.InvalidRequestException):
            client.associate_user_proficiencies(
                InstanceId=instance_id, UserId=user.id, UserProficiencies=[_proficiency("tier", "Tier1", 2)]
            )
        with pytest.raises(client.exceptions.ThrottlingException):
            client.list_users(InstanceId=instance_id, MaxResults=1)
        # Then each is logged in order, with its time, user, status and, for writes, the entries
        log = running.service.request_log()
        assert [(r.time, r.operation, r.user_id, r.status, r.outcome) for r in log] == [
            (50.0, "ListUsers", None, 200, "answered"),
            (50.5, "AssociateUserProficiencies", user.id, 200, "answered"),
            (51.0, "AssociateUserProficiencies", user.id, 400, "error"),
            (51.0, "ListUsers", None, 429, "throttled"),
        ]
        assert log[1].proficiencies == (("tier", "Tier1", 2.0),)
        assert log[2].error == "InvalidRequestException"
        assert [r.sequence for r in log] == sorted(r.sequence for r in log)
        assert [r.applied for r in log] == [True, True, False, False]

    def test_the_log_is_served_over_http_and_cleared_with_the_stats(self, emulator: RunningEmulator) -> None:
        emulator.client().list_users(InstanceId=emulator.instance.id)
        with urllib.request.urlopen(f"{emulator.endpoint_url}/_emulator/requests") as response:  # noqa: S310 - loopback
            records = json.load(response)["requests"]
        assert [(r["operation"], r["status"], r["outcome"], r["applied"]) for r in records] == [
            ("ListUsers", 200, "answered", True)
        ]
        assert isinstance(records[0]["time"], float)
        reset = urllib.request.Request(f"{emulator.endpoint_url}/_emulator/reset-stats", method="POST")  # noqa: S310 - loopback
        urllib.request.urlopen(reset).close()  # noqa: S310 - loopback
        assert emulator.service.request_log() == []


class TestAuthorization:
    def test_a_denied_action_answers_403_in_the_aws_form(self, start_emulator: EmulatorFactory) -> None:
        # Given a role allowed ListUsers only
        running = start_emulator(authorizer=AllowActions({"connect:ListUsers"}))
        user = running.instance.add_user("guarded.agent")
        client, instance_id = running.client(), running.instance.id
        client.list_users(InstanceId=instance_id)
        # When it lists a user's proficiencies
        with pytest.raises(client.exceptions.AccessDeniedException) as raised:
            client.list_user_proficiencies(InstanceId=instance_id, UserId=user.id)
        # Then AWS's 403 names the action and the agent's ARN
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert raised.value.response["Error"]["Message"] == (
            f"User: {DEFAULT_CALLER_ARN} is not authorized to perform: connect:ListUserProficiencies "
            f"on resource: arn:aws:connect:us-east-1:123456789012:instance/{instance_id}/agent/{user.id} "
            "because no identity-based policy allows the connect:ListUserProficiencies action"
        )
        stats = running.service.stats()
        assert stats.denials == {"ListUserProficiencies": 1}
        assert stats.calls == {"ListUsers": 1}

    def test_the_authorizer_sees_the_action_and_the_resource_arns(
        self, start_emulator: EmulatorFactory
    ) -> None:
        # Given an authorizer that records what it is asked and denies writes on the instance
        asked: list[tuple[str, dict[str, str]]] = []

        class Recording:
            def authorize(self, action: str, resources: Mapping[str, str]) -> str | None:
                asked.append((action, dict(resources)))
                if action.startswith("connect:Associate"):
                    return f"an explicit deny in a policy on {resources['instance']}"
                return None

        running = start_emulator(authorizer=Recording(), quota=Quota(rate=1.0, burst=1), clock=FakeClock())
        user = running.instance.add_user("guarded.agent")
        client, instance_id = running.client(), running.instance.id
        instance_arn = f"arn:aws:connect:us-east-1:123456789012:instance/{instance_id}"
        client.describe_user(InstanceId=instance_id, UserId=user.id)
        with pytest.raises(client.exceptions.AccessDeniedException) as raised:
            client.associate_user_proficiencies(
                InstanceId=instance_id, UserId=user.id, UserProficiencies=[_proficiency("tier", "Tier1", 1)]
            )
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.list_users(InstanceId="unknown-instance")
        # Then it was asked with the instance ARN, and the agent ARN where the call names a user
        assert asked == [
            ("connect:DescribeUser", {"instance": instance_arn, "user": f"{instance_arn}/agent/{user.id}"}),
            (
                "connect:AssociateUserProficiencies",
                {"instance": instance_arn, "user": f"{instance_arn}/agent/{user.id}"},
            ),
            (
                "connect:ListUsers",
                {"instance": "arn:aws:connect:us-east-1:123456789012:instance/unknown-instance"},
            ),
        ]
        # and the denial names the resource the reason names, nothing was applied or throttled
        assert f"on resource: {instance_arn} because an explicit deny" in str(raised.value)
        assert user.proficiencies == {}
        assert running.service.stats().throttles == {}


class TestAdminEndpoint:
    def test_stats_and_configuration_over_http(self, emulator: RunningEmulator) -> None:
        emulator.client().list_users(InstanceId=emulator.instance.id)
        with urllib.request.urlopen(f"{emulator.endpoint_url}/_emulator/stats") as response:  # noqa: S310 - loopback
            stats = json.load(response)
        assert stats["calls"] == {"ListUsers": 1}
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{emulator.endpoint_url}/_emulator/configure",
            data=json.dumps({"quota": {"rate": 1, "burst": 1}}).encode(),
            method="POST",
        )
        urllib.request.urlopen(request).close()  # noqa: S310 - loopback
        client = emulator.client()
        client.list_users(InstanceId=emulator.instance.id)
        with pytest.raises(client.exceptions.ThrottlingException):
            client.list_users(InstanceId=emulator.instance.id)

    def test_configure_sets_faults_outages_and_behaviour_over_http(self, emulator: RunningEmulator) -> None:
        user = emulator.instance.add_user("configured.agent")
        _configure(
            emulator,
            {
                "faults": [{"rate": 1.0, "operations": ["AssociateUserProficiencies"], "when": "after"}],
                "outages": [{"operation": "DescribeUser", "first_calls": 1}],
                "behaviour": {"page_cap": 3, "on_disassociate_missing": "ignore"},
            },
        )
        client, instance_id = emulator.client(), emulator.instance.id
        with pytest.raises(client.exceptions.InternalServiceException):
            client.describe_user(InstanceId=instance_id, UserId=user.id)
        client.describe_user(InstanceId=instance_id, UserId=user.id)
        with pytest.raises(client.exceptions.InternalServiceException):
            client.associate_user_proficiencies(
                InstanceId=instance_id, UserId=user.id, UserProficiencies=[_proficiency("tier", "Tier1", 1)]
            )
        assert user.proficiencies == {("tier", "Tier1"): 1.0}
        assert len(client.list_users(InstanceId=instance_id, MaxResults=50)["UserSummaryList"]) == 3
        client.disassociate_user_proficiencies(
            InstanceId=instance_id, UserId=user.id, UserProficiencies=[_proficiency("tier", "Tier3")]
        )

    def test_configure_refuses_bad_options_with_400(self, emulator: RunningEmulator) -> None:
        for options in (
            {"faults": {"rate": 1.0, "when": "during"}},
            {"outages": [{"operation": "ListUserz", "first_calls": 1}]},
            {"behaviour": {"on_associate_existing": "shrug"}},
            {"behaviour": {"page_size": 3}},
            {"faults": {"rate": 1.0}, "behaviour": {"page_cap": 0}},
        ):
            with pytest.raises(urllib.error.HTTPError) as raised:
                _configure(emulator, options)
            assert raised.value.code == 400
        # and a refused configure changed nothing, not even its good options
        assert emulator.service.faults == ()
        emulator.client().list_users(InstanceId=emulator.instance.id)


def _configure(running: RunningEmulator, options: dict[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{running.endpoint_url}/_emulator/configure", data=json.dumps(options).encode(), method="POST"
    )
    urllib.request.urlopen(request).close()  # noqa: S310 - loopback


class TestSeeds:
    def test_generated_seeds_are_deterministic_and_loadable(self) -> None:
        first, second = generate_seed(users=200, seed=3), generate_seed(users=200, seed=3)
        assert first == second
        instance = instance_from_seed(first)
        assert len(instance.users) == 200
        assert len({user.username for user in instance.users.values()}) == 200
