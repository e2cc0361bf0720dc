"""What the function and the CDK stack must agree on, in one place both import.

The bucket's layout, the function's environment variables and their defaults, and every AWS action
the job's adapters perform, by the resource it acts on. The stack derives the job role's grants
from `JOB_ACTIONS`, so a new call cannot ship without its grant, and the tests check both ways that
the role grants what the job calls and nothing else.

IAM facts (Service Authorization Reference, "Actions, resources, and condition keys for Amazon
Connect"): every Connect action used here requires the `instance` resource type
(`arn:${Partition}:connect:${Region}:${Account}:instance/${InstanceId}`); the per-user ones require
`user` (`instance/${InstanceId}/agent/${UserId}`) as well, so their statement must allow both ARNs.
There is no predefined-attribute resource type.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SERVICE_NAME = "connect-profiles"
METRICS_NAMESPACE = "ConnectProfiles"

# --- the job bucket ------------------------------------------------------------------------------
APPLY_PREFIX = "incoming/"
DRY_RUN_PREFIX = "dry-run/"
# Desired-state files: each user named ends with exactly the pairs listed. dry-run/sync/ plans one.
SYNC_PREFIX = "sync/"
DRY_RUN_SYNC_PREFIX = f"{DRY_RUN_PREFIX}{SYNC_PREFIX}"
REPORTS_PREFIX = "reports/"
# The daily snapshot of every user's proficiencies (a sync file): snapshots/<UTC date>.csv
SNAPSHOTS_PREFIX = "snapshots/"
# Every prefix whose new .csv objects start a job (dry-run/ covers dry-run/sync/).
INPUT_PREFIXES = (APPLY_PREFIX, DRY_RUN_PREFIX, SYNC_PREFIX)
# S3 suffix filters are case-sensitive; these are the spellings spreadsheet tools produce.
INPUT_SUFFIXES = (".csv", ".CSV")
# A job's working state, inside its report folder: reports/<name>/<time>-<id>/_job/
JOB_STATE_FOLDER = "_job/"


# The scheduled snapshot's invocation: EventBridge Scheduler sends this JSON as the event.
SNAPSHOT_EVENT = {"connectProfiles": "snapshot"}
DEFAULT_SNAPSHOT_SCHEDULE = "cron(0 2 * * ? *)"  # 02:00 UTC daily; "off" disables


# --- the function's environment ------------------------------------------------------------------
class Env(StrEnum):
    CONNECT_INSTANCE_ID = "CONNECT_INSTANCE_ID"
    SUMMARY_TOPIC_ARN = "SUMMARY_TOPIC_ARN"
    IDEMPOTENCY_TABLE_NAME = "IDEMPOTENCY_TABLE_NAME"
    JOB_BUCKET_NAME = "JOB_BUCKET_NAME"
    CONNECT_RATE = "CONNECT_RATE"
    CONNECT_BURST = "CONNECT_BURST"
    MAX_PROFICIENCIES_PER_AGENT = "MAX_PROFICIENCIES_PER_AGENT"
    MAX_GROUP_USERS = "MAX_GROUP_USERS"
    USERS_PER_BATCH = "USERS_PER_BATCH"
    YIELD_BELOW_SECONDS = "YIELD_BELOW_SECONDS"
    LEASE_SECONDS = "LEASE_SECONDS"
    CONNECT_MAX_ATTEMPTS = "CONNECT_MAX_ATTEMPTS"
    # `API=RATE[:BURST],...`: per-API rates that win over the account's quotas and CONNECT_RATE.
    CONNECT_API_RATES = "CONNECT_API_RATES"
    # Percent of each quota the job may use (others share the account's quotas).
    CONNECT_HEADROOM = "CONNECT_HEADROOM"


# --- defaults (Connect's documented quotas, and the job's own sizes) --------------------------------
DEFAULT_CONNECT_RATE = 2.0  # requests per second per Connect API
DEFAULT_CONNECT_BURST = 5
# Percent of each applied quota the job paces at: other integrations share the account's quotas.
DEFAULT_HEADROOM_PERCENT = 90.0
DEFAULT_MAX_PROFICIENCIES = 10  # the "Proficiencies per agent" quota
# A group row (routing_profile, security_profile, hierarchy_group, all) reaching more users than
# this fails before any write, with the count: a guard against a mistyped group.
DEFAULT_MAX_GROUP_USERS = 1000
# Attempts botocore makes per Connect call (throttles, 5xx, network errors) before the job sees the
# error; past them a batch is retried as a durable step, and a failed write is settled by a re-read.
DEFAULT_CONNECT_MAX_ATTEMPTS = 10
DEFAULT_USERS_PER_BATCH = 200
# End the invocation (and resume in a new one) when less than this is left after a batch.
DEFAULT_YIELD_BELOW_SECONDS = 240
# How long a job's hold on its Connect instance lasts unless renewed (each batch renews it): a job
# that died frees the instance after this long.
DEFAULT_LEASE_SECONDS = 1200


# --- Connect's request quotas, as Service Quotas lists them (ServiceCode "connect") -------------------
# Quota codes of "Rate of <API> API requests". Not in AWS's own documentation pages (the Connect
# quotas page lists names and values only); two public snapshots of Service Quotas agree on every code.
# The adapter also matches by the quota name, in case a code is ever reissued.
# None: the code is not in those snapshots; the quota is matched by its name alone.
CONNECT_QUOTA_CODES: dict[str, str | None] = {
    "ListUsers": "L-CCC38177",
    "DescribeUser": "L-EE6F0D82",
    "SearchUsers": "L-E2C35CCE",
    "ListUserProficiencies": "L-A59C54EE",
    "AssociateUserProficiencies": "L-2CCBA953",
    "UpdateUserProficiencies": "L-5A3065E6",
    "DisassociateUserProficiencies": "L-53E03705",
    "ListPredefinedAttributes": "L-BE2447CC",
    "DescribePredefinedAttribute": "L-753B94AB",
    "ListRoutingProfiles": None,
    "ListSecurityProfiles": None,
    "ListUserHierarchyGroups": None,
}


def connect_quota_name(api: str) -> str:
    return f"Rate of {api} API requests"


def parse_api_rates(text: str, *, source: str) -> dict[str, tuple[float, int | None]]:
    """`API=RATE[:BURST]` items, comma-separated (or one per call): API -> (rate, burst or None).
    Raises ValueError naming `source` and the bad item. API names are Connect operation names."""
    rates: dict[str, tuple[float, int | None]] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        api, sep, value = item.partition("=")
        api = api.strip()
        rate_text, _, burst_text = value.strip().partition(":")
        usage = f"{source}: {item!r} is not API=RATE[:BURST] (e.g. ListUserProficiencies=10:10)"
        if not sep or not api or not rate_text:
            raise ValueError(usage)
        if api not in CONNECT_QUOTA_CODES:
            known = ", ".join(sorted(CONNECT_QUOTA_CODES))
            raise ValueError(f"{source}: unknown Connect API {api!r}; one of {known}")
        if api in rates:
            raise ValueError(f"{source}: {api} is given twice")
        try:
            rate = float(rate_text)
            burst = int(burst_text) if burst_text else None
        except ValueError as error:
            raise ValueError(usage) from error
        if not 0 < rate <= 10_000:
            raise ValueError(f"{source}: {api} rate must be above 0 and at most 10000, got {rate_text}")
        if burst is not None and not 1 <= burst <= 10_000:
            raise ValueError(
                f"{source}: {api} burst must be a whole number from 1 to 10000, got {burst_text}"
            )
        rates[api] = (rate, burst)
    return rates


def format_api_rates(rates: dict[str, tuple[float, int | None]]) -> str:
    """The inverse of `parse_api_rates`, as CONNECT_API_RATES carries it."""
    return ",".join(
        f"{api}={rate:g}{'' if burst is None else f':{burst}'}"
        for api, (rate, burst) in sorted(rates.items())
    )


def parse_headroom(value: str | float, *, source: str) -> float:
    """A percent above 0 and at most 100 (`90`, `90%`, `90.5`)."""
    text = str(value).strip().removesuffix("%").strip()
    try:
        percent = float(text)
    except ValueError as error:
        raise ValueError(f"{source}: headroom must be a percent from 1 to 100, got {value!r}") from error
    if not 1 <= percent <= 100:
        raise ValueError(f"{source}: headroom must be a percent from 1 to 100, got {value!r}")
    return percent


# --- what the job calls ------------------------------------------------------------------------
class Resource(StrEnum):
    """The resources the job acts on, as the stack names them in the role's policy."""

    CONNECT_INSTANCE = "connect-instance"  # the instance ARN only
    CONNECT_INSTANCE_USERS = "connect-instance-users"  # the instance ARN and instance/<id>/agent/*
    INPUT_OBJECTS = "input-objects"  # incoming/*, dry-run/* and sync/*
    REPORT_OBJECTS = "report-objects"  # reports/* (outputs and the job's own state)
    REPORTS_LISTING = "reports-listing"  # the bucket, listing only under reports/
    SNAPSHOT_OBJECTS = "snapshot-objects"  # snapshots/*
    SUMMARY_TOPIC = "summary-topic"
    JOB_TABLE = "job-table"  # idempotency records and the per-instance lease
    SERVICE_QUOTAS = "service-quotas"  # `*`: servicequotas:ListServiceQuotas has no resource types


@dataclass(frozen=True, slots=True)
class Grant:
    actions: tuple[str, ...]
    resource: Resource
    why: str


JOB_ACTIONS: tuple[Grant, ...] = (
    Grant(
        (
            "connect:ListUsers",
            "connect:SearchUsers",
            "connect:DescribePredefinedAttribute",
            "connect:ListPredefinedAttributes",
        ),
        Resource.CONNECT_INSTANCE,
        "resolve usernames, size the instance, check attribute values, name the attributes there are",
    ),
    Grant(
        ("connect:ListRoutingProfiles", "connect:ListSecurityProfiles", "connect:ListUserHierarchyGroups"),
        Resource.CONNECT_INSTANCE,
        "resolve the names of group rows (routing profile, security profile, hierarchy group)",
    ),
    Grant(
        (
            "connect:ListUserProficiencies",
            "connect:AssociateUserProficiencies",
            "connect:UpdateUserProficiencies",
            "connect:DisassociateUserProficiencies",
        ),
        Resource.CONNECT_INSTANCE_USERS,
        "read and change each user's proficiencies",
    ),
    # GetObject for a bucket without versions (or an event without a version id), GetObjectVersion
    # for the exact version an event names.
    Grant(("s3:GetObject", "s3:GetObjectVersion"), Resource.INPUT_OBJECTS, "read the dropped file"),
    Grant(("s3:GetObject", "s3:PutObject"), Resource.REPORT_OBJECTS, "write reports, keep job state"),
    Grant(("s3:ListBucket",), Resource.REPORTS_LISTING, "find the users a crashed batch journalled"),
    Grant(("s3:PutObject",), Resource.SNAPSHOT_OBJECTS, "write the daily snapshot"),
    Grant(("sns:Publish",), Resource.SUMMARY_TOPIC, "email the summary"),
    Grant(
        ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
        Resource.JOB_TABLE,
        "claim each object version once; hold the instance's lease",
    ),
    Grant(
        ("servicequotas:ListServiceQuotas",),
        Resource.SERVICE_QUOTAS,
        "read the account's applied Connect request quotas, to pace each API at its own",
    ),
)


def actions_on(resource: Resource) -> tuple[str, ...]:
    return tuple(action for grant in JOB_ACTIONS if grant.resource is resource for action in grant.actions)
