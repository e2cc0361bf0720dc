"""Seed files: a JSON document describing one Connect instance, and a generator of large ones.

```json
{
  "instance_id": "11111111-2222-4333-8444-555555555555",
  "region": "us-east-1",
  "instance_alias": "sample-contact-centre",
  "predefined_attributes": [{"name": "language", "values": ["English", "Spanish"]}],
  "routing_profiles": [{"id": "rp-1", "name": "Sales"}],
  "security_profiles": [{"id": "sp-1", "name": "Agent"}],
  "hierarchy_groups": [{"id": "hg-1", "name": "EMEA"}, {"id": "hg-2", "name": "UK", "parent_id": "hg-1"}],
  "users": [
    {"id": "optional-uuid", "username": "jdoe", "first_name": "Jane", "last_name": "Doe",
     "routing_profile_id": "rp-1", "security_profile_ids": ["sp-1"], "hierarchy_group_id": "hg-2",
     "proficiencies": [{"attribute": "language", "value": "English", "level": 4}]}
  ],
  "quotas": {"ListUserProficiencies": {"rate": 10, "burst": 10}}
}
```

`quotas` (optional) sets per-API request quotas: the buckets the emulator enforces and the values
its Service Quotas stand-in reports. APIs not named there get the emulator's default quota.
Routing profiles, security profiles and hierarchy groups are optional (parents before children);
users reference them by id, and a user without a routing or security profile has the instance's
defaults ("Basic Routing Profile", "Agent").
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

from connect_emulator.instance import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, Behaviour, Instance
from connect_emulator.throttle import Quota
from connect_emulator.wire import SUPPORTED_OPERATIONS

SAMPLE_SEED = Path(__file__).resolve().parents[1] / "seeds" / "sample-instance.json"


class SeedError(ValueError):
    """The seed document is malformed or inconsistent."""


def load_seed(path: Path | str, *, behaviour: Behaviour | None = None) -> Instance:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SeedError(f"Cannot read seed file {path}: {error}") from error
    return instance_from_seed(document, behaviour=behaviour)


def load_seed_quotas(path: Path | str) -> dict[str, Quota]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SeedError(f"Cannot read seed file {path}: {error}") from error
    return quotas_from_seed(document)


def quotas_from_seed(document: dict[str, Any]) -> dict[str, Quota]:
    """The seed's `quotas`: operation -> Quota(rate, burst); unknown operations are refused."""
    entries = document.get("quotas", {})
    if not isinstance(entries, dict):
        raise SeedError("Seed quotas must be an object of operation -> {rate, burst}")
    unknown = sorted(set(entries) - set(SUPPORTED_OPERATIONS))
    if unknown:
        raise SeedError(f"Seed quotas name operations the emulator does not serve: {', '.join(unknown)}")
    try:
        return {name: Quota(float(q["rate"]), int(q.get("burst", 5))) for name, q in entries.items()}
    except (KeyError, TypeError, ValueError) as error:
        raise SeedError(f"Seed quotas are malformed: {error}") from error


def instance_from_seed(document: dict[str, Any], *, behaviour: Behaviour | None = None) -> Instance:
    try:
        instance = Instance(
            document["instance_id"],
            region=document.get("region", DEFAULT_REGION),
            account_id=document.get("account_id", DEFAULT_ACCOUNT_ID),
            behaviour=behaviour,
            alias=document.get("instance_alias"),
        )
        for attribute in document.get("predefined_attributes", []):
            instance.add_attribute(attribute["name"], attribute["values"])
        for entry in document.get("routing_profiles", []):
            instance.add_routing_profile(entry["name"], profile_id=entry.get("id"))
        for entry in document.get("security_profiles", []):
            instance.add_security_profile(entry["name"], profile_id=entry.get("id"))
        for entry in document.get("hierarchy_groups", []):
            instance.add_hierarchy_group(
                entry["name"], group_id=entry.get("id"), parent_id=entry.get("parent_id", "")
            )
        for entry in document.get("users", []):
            user = instance.add_user(
                entry["username"],
                user_id=entry.get("id"),
                first_name=entry.get("first_name", ""),
                last_name=entry.get("last_name", ""),
                routing_profile_id=_known(entry, "routing_profile_id", instance.routing_profiles),
                security_profile_ids=[
                    _known({"id": sp}, "id", instance.security_profiles)
                    for sp in entry.get("security_profile_ids", [])
                ],
                hierarchy_group_id=_known(entry, "hierarchy_group_id", instance.hierarchy_groups),
            )
            for proficiency in entry.get("proficiencies", []):
                instance.set_proficiency(
                    user.id, proficiency["attribute"], proficiency["value"], proficiency["level"]
                )
    except KeyError as error:
        raise SeedError(f"Seed document is missing {error}") from error
    except Exception as error:
        raise SeedError(f"Seed document is inconsistent: {error}") from error
    return instance


def _known(entry: dict[str, Any], key: str, known: dict[str, Any]) -> str:
    """A user's reference to a profile or group, which must be in the seed."""
    value = str(entry.get(key, ""))
    if value and value not in known:
        raise SeedError(
            f"user {entry.get('username', entry.get('id'))!r}: {key} {value!r} is not in the seed"
        )
    return value


SAMPLE_ATTRIBUTES: dict[str, list[str]] = {
    "language": ["English", "Spanish", "French", "German", "Portuguese", "Japanese"],
    "product": ["Billing", "Broadband", "Mobile", "TV", "Insurance"],
    "tier": ["Tier1", "Tier2", "Tier3"],
    "region": ["NA", "EMEA", "APAC", "LATAM"],
    "skill": ["Retention", "Technical Support", "Sales", "Complaints"],
}

_FIRST = [
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Luis",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tomas",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
]
_LAST = [
    "Alvarez",
    "Brown",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Novak",
    "Okafor",
    "Patel",
    "Rossi",
    "Silva",
    "Tanaka",
    "Weber",
]


def generate_seed(
    *,
    users: int,
    seed: int = 7,
    instance_id: str = "11111111-2222-4333-8444-555555555555",
    attributes: dict[str, list[str]] | None = None,
    max_initial: int = 4,
) -> dict[str, Any]:
    """A deterministic instance of `users` agents holding 0..`max_initial` proficiencies each."""
    rng = random.Random(seed)
    attributes = attributes or SAMPLE_ATTRIBUTES
    keys = [(name, value) for name, values in attributes.items() for value in values]
    entries = []
    taken: set[str] = set()
    for index in range(users):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        username = f"{first[0].lower()}{last.lower()}"
        if username in taken:
            username = f"{username}{index}"
        taken.add(username)
        chosen = rng.sample(keys, rng.randint(0, max_initial))
        entries.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "username": username,
                "first_name": first,
                "last_name": last,
                "proficiencies": [
                    {"attribute": a, "value": v, "level": rng.randint(1, 5)} for a, v in chosen
                ],
            }
        )
    return {
        "instance_id": instance_id,
        "region": DEFAULT_REGION,
        "predefined_attributes": [{"name": name, "values": values} for name, values in attributes.items()],
        "users": entries,
    }
