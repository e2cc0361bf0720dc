"""A local stand-in for the Amazon Connect APIs this project uses (moto does not implement them)."""

from connect_emulator.authorization import DEFAULT_CALLER_ARN, AllowActions, Authorizer
from connect_emulator.instance import Behaviour, Instance, OnAssociateExisting, OnDisassociateMissing
from connect_emulator.seed import (
    SAMPLE_SEED,
    generate_seed,
    instance_from_seed,
    load_seed,
    load_seed_quotas,
    quotas_from_seed,
)
from connect_emulator.server import (
    ConnectEmulator,
    ConnectService,
    Faults,
    Outage,
    RequestRecord,
    Stats,
    WriteRecord,
)
from connect_emulator.throttle import Clock, Quota

__all__ = [
    "DEFAULT_CALLER_ARN",
    "SAMPLE_SEED",
    "AllowActions",
    "Authorizer",
    "Behaviour",
    "Clock",
    "ConnectEmulator",
    "ConnectService",
    "Faults",
    "Instance",
    "OnAssociateExisting",
    "OnDisassociateMissing",
    "Outage",
    "Quota",
    "RequestRecord",
    "Stats",
    "WriteRecord",
    "generate_seed",
    "instance_from_seed",
    "load_seed",
    "load_seed_quotas",
    "quotas_from_seed",
]
