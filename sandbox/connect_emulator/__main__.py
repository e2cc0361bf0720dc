"""`connect-emulator --seed FILE [--port N]`: serve a seeded Connect instance on 127.0.0.1."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys

from connect_emulator.instance import Behaviour, OnAssociateExisting, OnDisassociateMissing
from connect_emulator.seed import SAMPLE_SEED, SeedError, load_seed
from connect_emulator.server import ConnectEmulator, ConnectService, Faults
from connect_emulator.throttle import Quota


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="connect-emulator", description=__doc__)
    parser.add_argument(
        "--seed", default=str(SAMPLE_SEED), help="seed JSON file (default: the sample instance)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--rate", type=float, default=2.0, help="requests per second per API (default 2)")
    parser.add_argument("--burst", type=int, default=5, help="bucket size per API (default 5)")
    parser.add_argument("--max-proficiencies", type=int, default=10, help="per-agent limit (default 10)")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of requests answered 500")
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument(
        "--on-associate-existing", choices=[m.value for m in OnAssociateExisting], default="overwrite"
    )
    parser.add_argument(
        "--on-disassociate-missing", choices=[m.value for m in OnDisassociateMissing], default="ignore"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    behaviour = Behaviour(
        max_proficiencies_per_agent=args.max_proficiencies,
        on_associate_existing=OnAssociateExisting(args.on_associate_existing),
        on_disassociate_missing=OnDisassociateMissing(args.on_disassociate_missing),
    )
    try:
        instance = load_seed(args.seed, behaviour=behaviour)
    except SeedError as error:
        print(f"connect-emulator: {error}", file=sys.stderr)
        return 2
    service = ConnectService(
        quota=Quota(args.rate, args.burst), faults=Faults(rate=args.fault_rate, seed=args.fault_seed)
    )
    service.add_instance(instance)
    emulator = ConnectEmulator(service, host=args.host, port=args.port)
    print(
        f"Connect emulator: instance {instance.id} ({len(instance.users)} users) at {emulator.endpoint_url}\n"
        f"  export AWS_ENDPOINT_URL_CONNECT={emulator.endpoint_url}",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        emulator.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
