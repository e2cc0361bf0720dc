"""`make demo`: the whole Lambda job on local stand-ins, no AWS account needed.

Starts moto (S3, SNS, SQS, DynamoDB) and the Connect emulator with the sample instance, uploads a
sample CSV (or --csv FILE) to incoming/ (dry-run/ with --dry-run), delivers the S3 event to the
durable handler through the durable testing runner, then prints the summary email and the report
and copies the output files to a folder.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from connect_emulator import SAMPLE_SEED, Quota, Stats, load_seed, load_seed_quotas
from local_stand_ins import BASE_ENVIRONMENT, BUCKET, TABLE, LocalAws, environment, invoke, start_connect

SAMPLE_CSV = Path(__file__).resolve().parents[1] / "samples" / "demo-changes.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo", description=__doc__)
    parser.add_argument("--csv", type=Path, default=SAMPLE_CSV, help="the file to drop into incoming/")
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="where to copy the job's files")
    parser.add_argument("--dry-run", action="store_true", help="drop the file into dry-run/ instead")
    args = parser.parse_args(argv)
    if not args.csv.is_file():  # before anything starts: one line, as the CLI says it
        print(f"demo: no such file: {args.csv} (CSV= takes the path of a CSV file)", file=sys.stderr)
        return 2

    print("Connect User Profile Manager: demo on LOCAL STAND-INS (no AWS account is used)")
    print("  S3, SNS, SQS, DynamoDB: moto server on 127.0.0.1; Amazon Connect: the project's emulator")
    with environment(BASE_ENVIRONMENT):
        aws = LocalAws().start()
        # Connect's real quotas: 2 requests/s, burst 5, per API, the read APIs at 10/s as many accounts
        # have them; the function reads them from the emulator's Service Quotas and paces itself.
        emulator = start_connect(
            load_seed(SAMPLE_SEED), quota=Quota(rate=2.0, burst=5), quotas=load_seed_quotas(SAMPLE_SEED)
        )
        instance_id = next(iter(emulator.service.instances))
        try:
            with environment(aws.environment):
                aws.create_resources()
                function_environment = {
                    "AWS_ENDPOINT_URL_CONNECT": emulator.endpoint_url,
                    "AWS_ENDPOINT_URL_SERVICE_QUOTAS": emulator.endpoint_url,
                    "CONNECT_INSTANCE_ID": instance_id,
                    "SUMMARY_TOPIC_ARN": aws.topic_arn,
                    "IDEMPOTENCY_TABLE_NAME": TABLE,
                    "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
                    # CloudWatch's embedded-metric JSON would drown the demo's output.
                    "POWERTOOLS_METRICS_DISABLED": "true",
                }
                with environment(function_environment):
                    return _run(aws, args, instance_id, emulator.service.stats)
        finally:
            emulator.stop()
            aws.stop()


def _run(aws: LocalAws, args: argparse.Namespace, instance_id: str, stats: Callable[[], Stats]) -> int:
    from connect_profiles.domain.outputs import format_table
    from connect_profiles.entrypoints.handler import lambda_handler  # after the environment is in place

    key = f"{'dry-run' if args.dry_run else 'incoming'}/{args.csv.name}"
    print(f"\n1. Uploaded {args.csv} to s3://{BUCKET}/{key} (instance {instance_id})")
    event = aws.upload(key, args.csv.read_bytes())
    started = time.monotonic()
    outcome = invoke(lambda_handler, event)
    print(
        f"2. S3 event delivered to the durable handler: {outcome.status} "
        f"in {time.monotonic() - started:.1f} s, {outcome.invocations} invocation(s)"
    )
    if outcome.status != "SUCCEEDED" or outcome.result is None:
        print(f"   the job failed: {outcome.error}", file=sys.stderr)
        return 1
    [record] = outcome.result["records"]
    print("\n3. The summary email (SNS):\n")
    for summary in aws.summaries():
        print(f"   Subject: {summary['subject']}\n")
        print("\n".join(f"   {line}" for line in summary["body"].splitlines()))
    prefix = record["prefix"]
    report = aws.read(f"{prefix}report.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(report)))
    if rows:
        print("\n4. report.csv:\n")
        print(format_table(rows[0], rows[1:]))
    args.out.mkdir(parents=True, exist_ok=True)
    for stored in aws.keys(prefix):
        if "/_job/" not in stored:
            (args.out / stored[len(prefix) :]).write_bytes(aws.read(stored))
    calls = stats().calls
    print(f"\n5. Files copied to {args.out}/: {', '.join(sorted(p.name for p in args.out.iterdir()))}")
    print(f"   Connect calls made: {dict(sorted(calls.items()))}")
    print(
        "\nThis ran on local stand-ins. To run for real: `make deploy INSTANCE_ID=<your instance id> "
        "NOTIFICATION_EMAIL=<you@example.com>`, confirm the subscription email, then "
        "`aws s3 cp changes.csv s3://<bucket>/incoming/` (see README, Deploy). "
        "Or locally against a real instance: `connect-profiles plan changes.csv --instance-id <id>`."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
