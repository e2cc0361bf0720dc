"""A local stand-in for the Amazon Connect APIs this project uses (moto does not implement them)."""

from connect_emulator.instance import Behaviour, Instance, OnAssociateExisting, OnDisassociateMissing
from connect_emulator.seed import SAMPLE_SEED, generate_seed, instance_from_seed, load_seed
from connect_emulator.server import ConnectEmulator, ConnectService, Faults, Stats
from connect_emulator.throttle import Quota

__all__ = [
    "SAMPLE_SEED",
    "Behaviour",
    "ConnectEmulator",
    "ConnectService",
    "Faults",
    "Instance",
    "OnAssociateExisting",
    "OnDisassociateMissing",
    "Quota",
    "Stats",
    "generate_seed",
    "instance_from_seed",
    "load_seed",
]
