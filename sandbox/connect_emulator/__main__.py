"""`connect-emulator --seed FILE [--port N]`: serve a seeded Connect instance on 127.0.0.1.

Strict by default (Associate of a held pair and Disassociate of a missing one are refused); the
permissive modes, faults before or after the change is applied, outage windows and a page cap are
flags, and all of them can be changed while running through `POST /_emulator/configure`.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import sys

from connect_emulator.instance import Behaviour, OnAssociateExisting, OnDisassociateMissing
from connect_emulator.seed import SAMPLE_SEED, SeedError, load_seed, load_seed_quotas
from connect_emulator.server import ConnectEmulator, ConnectService, Faults, Outage
from connect_emulator.throttle import Quota


def outage(spec: str) -> Outage:
    """`OPERATION:N` (its first N requests) or `OPERATION:START:N` (requests START+1..START+N)."""
    operation, *numbers = spec.split(":")
    try:
        counts = [int(number) for number in numbers]
        if len(counts) == 1:
            return Outage(operation=operation, first_calls=counts[0])
        if len(counts) == 2:
            return Outage(operation=operation, start_after=counts[0], count=counts[1])
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"bad outage {spec!r}: {error}") from error
    raise argparse.ArgumentTypeError(f"bad outage {spec!r}: use OPERATION:N or OPERATION:START:N")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="connect-emulator", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
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
        "--fault-when",
        choices=["before", "after"],
        default="before",
        help="before: nothing applied; after: applied, then the response is lost (default before)",
    )
    parser.add_argument(
        "--fault-operations", default="", help="comma-separated operations the faults hit (default all)"
    )
    parser.add_argument(
        "--outage",
        type=outage,
        action="append",
        default=[],
        metavar="OPERATION:N|OPERATION:START:N",
        help="answer 500 to a window of one API's requests, counted by request (repeatable)",
    )
    parser.add_argument(
        "--page-cap", type=int, default=None, help="at most N items per page of every list operation"
    )
    parser.add_argument(
        "--on-associate-existing", choices=[m.value for m in OnAssociateExisting], default="reject"
    )
    parser.add_argument(
        "--on-disassociate-missing", choices=[m.value for m in OnDisassociateMissing], default="reject"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        behaviour = Behaviour(
            max_proficiencies_per_agent=args.max_proficiencies,
            on_associate_existing=OnAssociateExisting(args.on_associate_existing),
            on_disassociate_missing=OnDisassociateMissing(args.on_disassociate_missing),
            page_cap=args.page_cap,
        )
        operations = frozenset(name for name in args.fault_operations.split(",") if name) or None
        faults = Faults(
            rate=args.fault_rate, seed=args.fault_seed, operations=operations, when=args.fault_when
        )
        quota = Quota(args.rate, args.burst)
    except ValueError as error:
        parser.error(str(error))
    try:
        instance = load_seed(args.seed, behaviour=behaviour)
        quotas = load_seed_quotas(args.seed)
    except SeedError as error:
        print(f"connect-emulator: {error}", file=sys.stderr)
        return 2
    service = ConnectService(quota=quota, quotas=quotas, faults=faults, outages=args.outage)
    service.add_instance(instance)
    try:
        emulator = ConnectEmulator(service, host=args.host, port=args.port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            print(
                f"connect-emulator: port {args.port} is in use on {args.host}; "
                "stop what holds it or pass --port N",
                file=sys.stderr,
            )
        else:
            print(f"connect-emulator: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    print(
        f"Connect emulator: instance {instance.id} ({len(instance.users)} users) at {emulator.endpoint_url}\n"
        f"  export AWS_ENDPOINT_URL_CONNECT={emulator.endpoint_url}\n"
        f"  export AWS_ENDPOINT_URL_SERVICE_QUOTAS={emulator.endpoint_url}  # its Connect quotas",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        emulator.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
