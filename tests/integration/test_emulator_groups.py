"""The emulator's routing profiles, security profiles and user hierarchy groups over HTTP: the list
operations (the model's paths, paging, bound tokens, the page cap) and SearchUsers' conditions
that find their members."""

from __future__ import annotations

from typing import Any

import pytest

from connect_emulator import Behaviour
from connect_emulator.seed import SAMPLE_SEED, SeedError, instance_from_seed, load_seed
from tests.conftest import EmulatorFactory, RunningEmulator

SALES = "0b7c1d52-1f0e-4c55-9d7e-5a1e2f3c4d01"
SUPERVISOR = "3c8d2e63-2a1f-4d66-8e8f-6b2f3a4d5e01"
EMEA, UK = "5e9f3a74-3b2a-4e77-9f9a-7c3a4b5e6f01", "5e9f3a74-3b2a-4e77-9f9a-7c3a4b5e6f02"


def _names(client: Any, method: str, key: str, instance_id: str, **params: Any) -> list[str]:
    pages = client.get_paginator(method).paginate(InstanceId=instance_id, **params)
    return [item["Name"] for page in pages for item in page[key]]


def _search(client: Any, instance_id: str, criteria: dict[str, Any]) -> list[str]:
    pages = client.get_paginator("search_users").paginate(InstanceId=instance_id, SearchCriteria=criteria)
    return sorted(user["Username"] for page in pages for user in page["Users"])


def test_the_sample_lists_its_profiles_and_groups(emulator: RunningEmulator) -> None:
    client, iid = emulator.client(), emulator.instance.id
    rps = _names(client, "list_routing_profiles", "RoutingProfileSummaryList", iid)
    assert rps == ["Basic Routing Profile", "Sales", "Support"]
    sps = _names(client, "list_security_profiles", "SecurityProfileSummaryList", iid)
    assert sps == ["Agent", "Supervisor"]
    groups = client.list_user_hierarchy_groups(InstanceId=iid)["UserHierarchyGroupSummaryList"]
    assert [(g["Name"], g["Id"]) for g in groups] == [("EMEA", EMEA), ("UK", UK)]
    assert groups[0]["Arn"].endswith(f"instance/{iid}/agent-group/{EMEA}")


def test_list_operations_page_and_bind_their_tokens(start_emulator: EmulatorFactory) -> None:
    running = start_emulator(behaviour=Behaviour(page_cap=1))
    client, iid = running.client(), running.instance.id
    first = client.list_routing_profiles(InstanceId=iid, MaxResults=1000)
    assert len(first["RoutingProfileSummaryList"]) == 1
    assert "NextToken" in first
    assert _names(client, "list_routing_profiles", "RoutingProfileSummaryList", iid) == [
        "Basic Routing Profile",
        "Sales",
        "Support",
    ]
    with pytest.raises(client.exceptions.InvalidParameterException, match="different request"):
        client.list_security_profiles(InstanceId=iid, NextToken=first["NextToken"])


def test_max_results_is_validated_from_the_model(emulator: RunningEmulator) -> None:
    # A client that skips botocore's own checks, so the server's are seen.
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "connect", endpoint_url=emulator.endpoint_url, config=Config(parameter_validation=False)
    )
    with pytest.raises(client.exceptions.InvalidParameterException, match="valid max value: 1000"):
        client.list_user_hierarchy_groups(InstanceId=emulator.instance.id, MaxResults=1001)


def test_an_unknown_instance_is_not_found(emulator: RunningEmulator) -> None:
    client = emulator.client()
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_routing_profiles(InstanceId="00000000-0000-4000-8000-000000000000")


def test_members_by_routing_and_security_profile(emulator: RunningEmulator) -> None:
    client, iid = emulator.client(), emulator.instance.id
    by_rp = {"StringCondition": {"FieldName": "RoutingProfileId", "Value": SALES, "ComparisonType": "EXACT"}}
    assert _search(client, iid, by_rp) == ["brossi", "gfischer", "qito", "qrossi", "wsilva"]
    by_sp = {
        "StringCondition": {"FieldName": "SecurityProfileId", "Value": SUPERVISOR, "ComparisonType": "EXACT"}
    }
    assert _search(client, iid, by_sp) == ["Maria.Garcia"]


def test_hierarchy_conditions_exact_and_with_child_groups(emulator: RunningEmulator) -> None:
    client, iid = emulator.client(), emulator.instance.id

    def hierarchy(group: str, match: str) -> list[str]:
        return _search(
            client, iid, {"HierarchyGroupCondition": {"Value": group, "HierarchyGroupMatchType": match}}
        )

    support = ["cweber", "ilopez", "mnovak"]
    sales = ["brossi", "gfischer", "qito", "qrossi", "wsilva"]
    assert hierarchy(EMEA, "EXACT") == support
    assert hierarchy(EMEA, "WITH_CHILD_GROUPS") == sorted(support + sales)
    assert hierarchy(UK, "WITH_CHILD_GROUPS") == sales
    assert hierarchy("nope", "WITH_CHILD_GROUPS") == []
    users = client.search_users(
        InstanceId=iid,
        SearchCriteria={"HierarchyGroupCondition": {"Value": UK, "HierarchyGroupMatchType": "EXACT"}},
    )["Users"]
    assert {user["HierarchyGroupId"] for user in users} == {UK}


def test_a_seed_user_must_reference_known_groups() -> None:
    document: dict[str, Any] = {
        "instance_id": "i-1",
        "users": [{"username": "a", "routing_profile_id": "missing"}],
    }
    with pytest.raises(SeedError, match="routing_profile_id 'missing' is not in the seed"):
        instance_from_seed(document)
    with pytest.raises(SeedError, match="no parent group"):
        instance_from_seed({"instance_id": "i-1", "hierarchy_groups": [{"name": "x", "parent_id": "y"}]})
    assert len(load_seed(SAMPLE_SEED).hierarchy_groups) == 2
