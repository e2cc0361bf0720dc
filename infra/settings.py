"""The stack's settings: read once from CDK context, typed and validated before any construct exists.

Every value may come from `cdk.json`, from `-c key=value` on the command line (always a string) or
from a test's context dictionary, so each one is parsed from either form. An empty string counts as
unset, which lets the Makefile pass optional values through unconditionally.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from connect_profiles.contract import (
    DEFAULT_CONNECT_BURST,
    DEFAULT_CONNECT_RATE,
    DEFAULT_HEADROOM_PERCENT,
    DEFAULT_MAX_GROUP_USERS,
    DEFAULT_MAX_PROFICIENCIES,
    DEFAULT_SNAPSHOT_SCHEDULE,
    format_api_rates,
    parse_api_rates,
    parse_headroom,
)

# Context key -> what it is, for error messages and the README.
CONTEXT_KEYS: Mapping[str, str] = {
    "instanceId": "Amazon Connect instance ID (required)",
    "notificationEmail": "address subscribed to job summaries and alarms (optional)",
    "connectRate": (
        "requests per second for every Connect API, instead of the account's quotas (default: each API "
        f"at its applied quota, read from Service Quotas; {DEFAULT_CONNECT_RATE:g}/s when it cannot be read)"
    ),
    "connectBurst": (
        f"token-bucket burst for every Connect API (default {DEFAULT_CONNECT_BURST}, or the quota if higher)"
    ),
    "connectApiRates": "per-API rates, API=RATE[:BURST],... (e.g. ListUserProficiencies=10:10)",
    "connectHeadroom": f"percent of each account quota the job uses (default {DEFAULT_HEADROOM_PERCENT:g})",
    "maxProficienciesPerAgent": (
        f"the account's 'Proficiencies per agent' quota (default {DEFAULT_MAX_PROFICIENCIES})"
    ),
    "maxGroupUsers": (
        "a group row (routing_profile, security_profile, hierarchy_group, all) reaching more users fails "
        f"before any write (default {DEFAULT_MAX_GROUP_USERS})"
    ),
    "reservedConcurrency": "reserved concurrency, or 'off' (default 1: one job at a time)",
    "reportRetentionDays": "days before reports/ objects expire (default 90)",
    "snapshotSchedule": (
        f"when the daily snapshot runs, in UTC: a cron(...) or rate(...) expression, or 'off' "
        f"(default {DEFAULT_SNAPSHOT_SCHEDULE})"
    ),
}

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_OFF = frozenset({"off", "none", "false", "unreserved"})
_SCHEDULE_OFF = frozenset({"off", "none", "false"})
# EventBridge Scheduler's recurring expressions (Scheduler User Guide, "Schedule types"). Its cron has
# six fields: minutes hours day-of-month month day-of-week year.
_CRON = re.compile(r"^cron\((?P<fields>[^()]*)\)$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/#-]+$")
_CRON_FIELDS = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_CRON_EXAMPLE = "e.g. cron(0 2 * * ? *) for 02:00 UTC daily"
_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)$")


class SettingsError(ValueError):
    """The CDK context is missing a required value or holds a malformed one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid CDK context for the Connect profiles stack:\n{lines}")


@dataclass(frozen=True, kw_only=True)
class Settings:
    instance_id: str
    notification_email: str | None = None
    # None: each API at the account's applied quota (the function reads Service Quotas).
    connect_rate: float | None = None
    connect_burst: int | None = None
    connect_api_rates: str = ""  # as CONNECT_API_RATES carries it, checked
    connect_headroom: float = DEFAULT_HEADROOM_PERCENT
    max_proficiencies_per_agent: int = DEFAULT_MAX_PROFICIENCIES
    max_group_users: int = DEFAULT_MAX_GROUP_USERS
    # None: no reserved concurrency (for accounts whose concurrency quota cannot spare any).
    reserved_concurrency: int | None = 1
    report_retention_days: int = 90
    # A Scheduler cron(...) or rate(...) expression, evaluated in UTC; None: no snapshot schedule.
    snapshot_schedule: str | None = DEFAULT_SNAPSHOT_SCHEDULE

    @classmethod
    def from_context(cls, context: Mapping[str, object]) -> Settings:
        """Parses the context (`app.node.get_all_context()`); raises SettingsError listing every problem."""
        problems: list[str] = []
        _reject_near_misses(context, problems)
        parser = _Parser(context, problems)
        instance_id = parser.instance_id("instanceId")
        settings = cls(
            instance_id=instance_id or "",
            notification_email=parser.email("notificationEmail"),
            connect_rate=parser.optional_number("connectRate", minimum=0.01, maximum=1000.0),
            connect_burst=parser.optional_integer("connectBurst", minimum=1, maximum=1000),
            connect_api_rates=parser.api_rates("connectApiRates"),
            connect_headroom=parser.headroom("connectHeadroom"),
            max_proficiencies_per_agent=parser.integer(
                "maxProficienciesPerAgent", default=cls.max_proficiencies_per_agent, minimum=1, maximum=1000
            ),
            max_group_users=parser.integer(
                "maxGroupUsers", default=cls.max_group_users, minimum=1, maximum=1_000_000
            ),
            reserved_concurrency=parser.concurrency("reservedConcurrency", default=cls.reserved_concurrency),
            report_retention_days=parser.integer(
                "reportRetentionDays", default=cls.report_retention_days, minimum=1, maximum=36500
            ),
            snapshot_schedule=parser.schedule("snapshotSchedule", default=cls.snapshot_schedule),
        )
        if problems:
            raise SettingsError(problems)
        return settings

    @property
    def connect_rate_text(self) -> str | None:
        """The rate as the function's CONNECT_RATE variable carries it: `2`, not `2.0`."""
        return None if self.connect_rate is None else f"{self.connect_rate:g}"


def _reject_near_misses(context: Mapping[str, object], problems: list[str]) -> None:
    """`-c instanceID=...` or `-c instance_id=...` would otherwise be silently ignored."""
    canonical = {_squash(key): key for key in CONTEXT_KEYS}
    for key in context:
        expected = canonical.get(_squash(key))
        if expected is not None and key != expected:
            problems.append(f"unknown context key {key!r}: did you mean {expected!r}?")


def _squash(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


class _Parser:
    def __init__(self, context: Mapping[str, object], problems: list[str]) -> None:
        self._context = context
        self._problems = problems

    def _raw(self, key: str) -> object | None:
        value = self._context.get(key)
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
        return value

    def _fail(self, key: str, message: str) -> None:
        self._problems.append(f"{key}: {message}")

    def instance_id(self, key: str) -> str | None:
        value = self._raw(key)
        hint = "pass -c instanceId=<id>, the UUID at the end of the instance ARN (Connect console > instance)"
        if value is None:
            self._fail(key, f"is required; {hint}")
            return None
        text = str(value).lower()
        if text.startswith("arn:"):
            self._fail(key, f"{value!r} is an ARN; pass only the ID after 'instance/'")
            return None
        if not _UUID.match(text):
            self._fail(key, f"{value!r} is not an instance ID; {hint}")
            return None
        return text

    def email(self, key: str) -> str | None:
        value = self._raw(key)
        if value is None:
            return None
        if not isinstance(value, str) or not _EMAIL.match(value):
            self._fail(key, f"{value!r} is not an email address")
            return None
        return value

    def number(self, key: str, *, default: float, minimum: float, maximum: float) -> float:
        value = self._raw(key)
        if value is None:
            return default
        try:
            if isinstance(value, bool):
                raise TypeError
            number = float(str(value))
        except (TypeError, ValueError):
            self._fail(key, f"{value!r} is not a number")
            return default
        if not minimum <= number <= maximum:
            self._fail(key, f"{value!r} is outside {minimum:g}-{maximum:g}")
            return default
        return number

    def optional_number(self, key: str, *, minimum: float, maximum: float) -> float | None:
        if self._raw(key) is None:
            return None
        return self.number(key, default=minimum, minimum=minimum, maximum=maximum)

    def optional_integer(self, key: str, *, minimum: int, maximum: int) -> int | None:
        if self._raw(key) is None:
            return None
        return self.integer(key, default=minimum, minimum=minimum, maximum=maximum)

    def api_rates(self, key: str) -> str:
        value = self._raw(key)
        if value is None:
            return ""
        try:
            return format_api_rates(parse_api_rates(str(value), source=key))
        except ValueError as error:
            self._problems.append(str(error))
            return ""

    def headroom(self, key: str) -> float:
        value = self._raw(key)
        if value is None:
            return DEFAULT_HEADROOM_PERCENT
        try:
            return parse_headroom(str(value), source=key)
        except ValueError as error:
            self._problems.append(str(error))
            return DEFAULT_HEADROOM_PERCENT

    def integer(self, key: str, *, default: int, minimum: int, maximum: int) -> int:
        value = self._raw(key)
        if value is None:
            return default
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError
            number = int(str(value)) if not isinstance(value, float) else int(value)
        except (TypeError, ValueError):
            self._fail(key, f"{value!r} is not a whole number")
            return default
        if not minimum <= number <= maximum:
            self._fail(key, f"{value!r} is outside {minimum}-{maximum}")
            return default
        return number

    def concurrency(self, key: str, *, default: int | None) -> int | None:
        value = self._raw(key)
        if value is None:
            return default
        if value is False or (isinstance(value, str) and value.lower() in _OFF):
            return None
        if value in (0, "0"):
            # Reserved concurrency 0 would stop the function from ever running.
            self._fail(key, "0 would disable the function; use 'off' for no reserved concurrency")
            return default
        return self.integer(key, default=default or 1, minimum=1, maximum=10000)

    def schedule(self, key: str, *, default: str | None) -> str | None:
        """A recurring Scheduler expression, checked here so that a typo fails the synth, not the deploy."""
        value = self._raw(key)
        if value is None:
            return default
        if value is False or (isinstance(value, str) and value.lower() in _SCHEDULE_OFF):
            return None
        if not isinstance(value, str):
            self._fail(key, f"{value!r} is not a cron(...) or rate(...) expression, or 'off'")
            return default
        problem = _schedule_problem(value)
        if problem is not None:
            self._fail(key, f"{value!r} {problem}")
            return default
        cron = _CRON.match(value)
        # One space between cron fields, however the value was typed.
        return f"cron({' '.join(cron.group('fields').split())})" if cron is not None else value


def _schedule_problem(expression: str) -> str | None:
    """Why `expression` is not a recurring Scheduler expression, or None when it is one."""
    cron = _CRON.match(expression)
    if cron is not None:
        return _cron_problem(cron.group("fields").split())
    rate = _RATE.match(expression)
    if rate is not None:
        value, unit = int(rate.group("value")), rate.group("unit")
        if value == 0:
            return "never fires; the rate must be at least 1"
        if (value == 1) != (not unit.endswith("s")):
            return "needs a singular unit for 1 and a plural one otherwise, e.g. rate(1 day), rate(12 hours)"
        return None
    if expression.startswith("at("):
        return "is a one-time schedule; the snapshot needs a recurring cron(...) or rate(...) expression"
    return f"is not a cron(...) or rate(...) expression, or 'off'; {_CRON_EXAMPLE}"


def _cron_problem(fields: list[str]) -> str | None:
    if len(fields) != len(_CRON_FIELDS):
        return (
            f"has {len(fields)} cron fields; Scheduler's cron has six "
            f"({' '.join(_CRON_FIELDS)}), {_CRON_EXAMPLE}"
        )
    for name, field in zip(_CRON_FIELDS, fields, strict=True):
        if not _CRON_FIELD.match(field):
            return f"has an invalid {name} field {field!r}"
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return f"must have '?' in exactly one of day-of-month and day-of-week; {_CRON_EXAMPLE}"
    for name, field, maximum in (("minutes", fields[0], 59), ("hours", fields[1], 23)):
        # Plain numbers and ranges only; an increment (a/b) may exceed the field's maximum.
        numbers = [int(n) for part in field.split(",") for n in part.split("/")[0].split("-") if n.isdigit()]
        if any(number > maximum for number in numbers):
            return f"has {name} {field!r} outside 0-{maximum}"
    return None
