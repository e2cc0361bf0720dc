"""The Connect emulator, driven only through a stock boto3 client over HTTP on loopback."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from connect_emulator import (
    Behaviour,
    Faults,
    OnAssociateExisting,
    OnDisassociateMissing,
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

    def test_associate_existing_overwrites_by_default(
        self, emulator: RunningEmulator, bare_user: str
    ) -> None:
        client, instance_id = emulator.client(), emulator.instance.id
        for level in (2, 4):
            client.associate_user_proficiencies(
                InstanceId=instance_id,
                UserId=bare_user,
                UserProficiencies=[_proficiency("tier", "Tier2", level)],
            )
        assert _held(client, instance_id, bare_user) == {("tier", "Tier2"): 4.0}

    def test_associate_existing_can_be_configured_to_fail(self, start_emulator: EmulatorFactory) -> None:
        running = start_emulator(behaviour=Behaviour(on_associate_existing=OnAssociateExisting.REJECT))
        user = running.instance.add_user("strict.agent")
        client = running.client()
        entry = [_proficiency("tier", "Tier2", 2)]
        client.associate_user_proficiencies(
            InstanceId=running.instance.id, UserId=user.id, UserProficiencies=entry
        )
        with pytest.raises(client.exceptions.InvalidRequestException, match="already associated"):
            client.associate_user_proficiencies(
                InstanceId=running.instance.id, UserId=user.id, UserProficiencies=entry
            )

    def test_disassociate_missing_is_ignored_by_default(
        self, emulator: RunningEmulator, bare_user: str
    ) -> None:
        client = emulator.client()
        client.disassociate_user_proficiencies(
            InstanceId=emulator.instance.id,
            UserId=bare_user,
            UserProficiencies=[_proficiency("tier", "Tier3")],
        )
        assert emulator.service.stats().calls["DisassociateUserProficiencies"] == 1

    def test_disassociate_missing_can_be_configured_to_fail(self, start_emulator: EmulatorFactory) -> None:
        running = start_emulator(behaviour=Behaviour(on_disassociate_missing=OnDisassociateMissing.REJECT))
        user = running.instance.add_user("strict.agent")
        client = running.client()
        with pytest.raises(client.exceptions.InvalidRequestException, match="not associated"):
            client.disassociate_user_proficiencies(
                InstanceId=running.instance.id,
                UserId=user.id,
                UserProficiencies=[_proficiency("tier", "Tier3")],
            )


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


class TestQuotas:
    def test_a_burst_beyond_five_is_throttled_with_429(self, start_emulator: EmulatorFactory) -> None:
        # Given Connect's default quota: 2 requests/s, burst 5, per API
        running = start_emulator(quota=Quota(rate=2.0, burst=5))
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
        assert outcomes[:5] == ["ok"] * 5
        assert set(outcomes[5:]) == {"throttled 429"}
        client.list_predefined_attributes(InstanceId=running.instance.id)
        stats = running.service.stats()
        assert stats.throttles["ListUsers"] == len(outcomes) - 5
        assert stats.throttles.get("ListPredefinedAttributes", 0) == 0

    def test_tokens_refill_at_the_rate(self, start_emulator: EmulatorFactory) -> None:
        running = start_emulator(quota=Quota(rate=10.0, burst=1))
        client = running.client()
        client.list_users(InstanceId=running.instance.id, MaxResults=1)
        with pytest.raises(client.exceptions.ThrottlingException):
            client.list_users(InstanceId=running.instance.id, MaxResults=1)
        time.sleep(0.15)
        client.list_users(InstanceId=running.instance.id, MaxResults=1)

    def test_botocore_retries_absorb_throttling(self, start_emulator: EmulatorFactory) -> None:
        running = start_emulator(quota=Quota(rate=20.0, burst=2))
        client = running.client(attempts=10)
        for _ in range(6):
            client.list_users(InstanceId=running.instance.id, MaxResults=1)
        stats = running.service.stats()
        assert stats.calls["ListUsers"] == 6
        assert stats.throttles["ListUsers"] >= 1

    def test_quotas_can_differ_per_api(self, start_emulator: EmulatorFactory) -> None:
        running = start_emulator(
            quota=Quota(rate=1.0, burst=1), quotas={"ListUsers": Quota(rate=1.0, burst=3)}
        )
        client = running.client()
        for _ in range(3):
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


class TestSeeds:
    def test_generated_seeds_are_deterministic_and_loadable(self) -> None:
        first, second = generate_seed(users=200, seed=3), generate_seed(users=200, seed=3)
        assert first == second
        instance = instance_from_seed(first)
        assert len(instance.users) == 200
        assert len({user.username for user in instance.users.values()}) == 200
