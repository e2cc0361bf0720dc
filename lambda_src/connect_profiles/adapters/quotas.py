"""The account's applied Connect request quotas, from Service Quotas, and the rate each API gets.

Connect documents 2 requests/s, burst 5, for every API, but accounts differ (read APIs are often at
10/s, and admins raise write quotas). At the start of a job one paged `ListServiceQuotas`
(ServiceCode `connect`) reads them; each quota is matched to its API by quota code, else by its name
("Rate of <API> API requests"). Each API is paced at `headroom` percent of its quota, since other
integrations share it; its burst is the documented 5, or the quota value if higher (bursts are not
published). A refused or failed read, or a missing quota, falls back to the documented defaults with
a warning: pacing too slowly costs time, never a row.

Precedence, per API: `--api-rate`/CONNECT_API_RATES, then `--rate`/CONNECT_RATE (every API at that
rate: Service Quotas is then not read), then the account's quota, then the documented default.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from connect_profiles.adapters.pacing import Pacer, Rate
from connect_profiles.contract import (
    CONNECT_QUOTA_CODES,
    DEFAULT_CONNECT_BURST,
    DEFAULT_CONNECT_RATE,
    DEFAULT_HEADROOM_PERCENT,
    JOB_ACTIONS,
    connect_quota_name,
)

SERVICE_CODE = "connect"
PAGE = 100  # ListServiceQuotas' maximum
DOCUMENTED = Rate(DEFAULT_CONNECT_RATE, DEFAULT_CONNECT_BURST)
# The Connect APIs the job calls: the contract's connect: actions.
JOB_APIS: tuple[str, ...] = tuple(
    action.split(":", 1)[1]
    for grant in JOB_ACTIONS
    for action in grant.actions
    if action.startswith("connect:")
)
_SECONDS = {
    "MICROSECOND": 1e-6,
    "MILLISECOND": 1e-3,
    "SECOND": 1.0,
    "MINUTE": 60.0,
    "HOUR": 3600.0,
    "DAY": 86400.0,
}


class QuotasUnavailable(Exception):
    """Service Quotas could not be read; the message says why, for the warning."""


@dataclass(frozen=True, slots=True)
class PacingOptions:
    """What the person or the stack asked for. Hashable: the Lambda caches its clients by it."""

    rate: float | None = None  # every API at this rate; Service Quotas is not read
    burst: int | None = None  # every API's burst (with `rate`, or over the quotas)
    api_rates: tuple[tuple[str, float, int | None], ...] = ()  # per-API overrides
    headroom_percent: float = DEFAULT_HEADROOM_PERCENT

    @classmethod
    def build(
        cls,
        *,
        rate: float | None = None,
        burst: int | None = None,
        api_rates: Mapping[str, tuple[float, int | None]] | None = None,
        headroom_percent: float = DEFAULT_HEADROOM_PERCENT,
    ) -> PacingOptions:
        overrides = tuple((api, r, b) for api, (r, b) in sorted((api_rates or {}).items()))
        return cls(rate, burst, overrides, headroom_percent)

    def needs_quotas(self, apis: Iterable[str]) -> bool:
        overridden = {api for api, _, _ in self.api_rates}
        return self.rate is None and not set(apis) <= overridden


@dataclass(frozen=True, slots=True)
class PacingPlan:
    """The rate each API starts at, where it came from, and what went wrong reading the quotas."""

    rates: dict[str, Rate]
    sources: dict[str, str]  # API -> "quota 10/s", "--api-rate", "--rate", "documented default"
    warnings: tuple[str, ...] = ()
    headroom_percent: float = DEFAULT_HEADROOM_PERCENT
    quotas: dict[str, float] = field(default_factory=dict)  # what Service Quotas said, per API

    def pacer(self, **kwargs: Any) -> Pacer:
        """A pacer at these rates (clock, sleep and cancel as `Pacer` takes them)."""
        return Pacer(DOCUMENTED, self.rates, **kwargs)


def service_quotas_client(*, region: str | None = None, profile: str | None = None) -> Any:
    """Honours AWS_ENDPOINT_URL_SERVICE_QUOTAS. Few retries: a quota read that fails costs a warning."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=3, read_timeout=10)
    return boto3.Session(profile_name=profile, region_name=region).client("service-quotas", config=config)


def read_connect_quotas(client: Any) -> dict[str, float]:
    """Every Connect API's applied request quota, in requests per second, from one paged
    ListServiceQuotas. Raises QuotasUnavailable when the call is refused or fails."""
    by_code = {code: api for api, code in CONNECT_QUOTA_CODES.items() if code}
    by_name = {connect_quota_name(api): api for api in CONNECT_QUOTA_CODES}
    found: dict[str, float] = {}
    token: str | None = None
    try:
        while True:
            page = client.list_service_quotas(
                ServiceCode=SERVICE_CODE, MaxResults=PAGE, **({"NextToken": token} if token else {})
            )
            for quota in page.get("Quotas", []):
                api = by_code.get(quota.get("QuotaCode", "")) or by_name.get(quota.get("QuotaName", ""))
                per_second = _per_second(quota)
                if api is not None and per_second is not None:
                    found[api] = per_second
            token = page.get("NextToken")
            if not token:
                return found
    except ClientError as error:
        details = error.response.get("Error", {})
        raise QuotasUnavailable(f"{details.get('Code', 'Error')}: {details.get('Message', error)}") from error
    except BotoCoreError as error:
        raise QuotasUnavailable(str(error)) from error


def _per_second(quota: Mapping[str, Any]) -> float | None:
    value = quota.get("Value")
    if not isinstance(value, int | float) or value <= 0:
        return None
    period = quota.get("Period") or {}
    seconds = _SECONDS.get(str(period.get("PeriodUnit", "SECOND")))
    if seconds is None:
        return None
    return float(value) / (float(period.get("PeriodValue", 1) or 1) * seconds)


def plan_pacing(
    options: PacingOptions,
    *,
    quotas: Mapping[str, float] | None,
    refused: str | None = None,
    apis: Iterable[str] = JOB_APIS,
) -> PacingPlan:
    """Each API's starting rate, by the precedence in the module docstring. `quotas` None: not read
    (`refused` says why, when it was tried)."""
    overrides = {api: (rate, burst) for api, rate, burst in options.api_rates}
    share = options.headroom_percent / 100
    rates: dict[str, Rate] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    if refused is not None:
        warnings.append(
            f"could not read the account's Connect quotas from Service Quotas ({refused}); every API "
            f"is paced at Connect's documented default, {DOCUMENTED.per_second:g}/s burst {DOCUMENTED.burst}"
        )
    missing: list[str] = []
    for api in apis:
        if api in overrides:
            rate, burst = overrides[api]
            rates[api] = Rate(rate, burst or options.burst or _burst_for(rate))
            sources[api] = "--api-rate"
        elif options.rate is not None:
            rates[api] = Rate(options.rate, options.burst or DOCUMENTED.burst)
            sources[api] = "--rate"
        elif quotas is not None and api in quotas:
            quota = quotas[api]
            rates[api] = Rate(quota * share, options.burst or _burst_for(quota))
            sources[api] = f"quota {quota:g}/s"
        else:
            rates[api] = Rate(DOCUMENTED.per_second * share, options.burst or DOCUMENTED.burst)
            sources[api] = "documented default"
            if quotas is not None:
                missing.append(api)
    if missing:
        warnings.append(
            f"Service Quotas lists no request quota for {', '.join(missing)}; paced at Connect's documented "
            f"default, {DOCUMENTED.per_second:g}/s burst {DOCUMENTED.burst}"
        )
    return PacingPlan(rates, sources, tuple(warnings), options.headroom_percent, dict(quotas or {}))


def _burst_for(rate: float) -> int:
    """Bursts are not published: the documented 5, or the quota value if higher."""
    return max(DOCUMENTED.burst, math.floor(rate))


def resolve_pacing(
    options: PacingOptions,
    *,
    region: str | None = None,
    profile: str | None = None,
    apis: Iterable[str] = JOB_APIS,
) -> PacingPlan:
    """Read the quotas when the options leave any API to them, and plan every API's rate."""
    apis = tuple(apis)
    if not options.needs_quotas(apis):
        return plan_pacing(options, quotas=None, apis=apis)
    try:
        quotas = read_connect_quotas(service_quotas_client(region=region, profile=profile))
    except QuotasUnavailable as error:
        plan = plan_pacing(options, quotas=None, refused=str(error), apis=apis)
    else:
        plan = plan_pacing(options, quotas=quotas, apis=apis)
    return plan  # its warnings are the caller's to show: the CLI on stderr, the function in its log


def pacing_lines(plan: PacingPlan, pacer: Pacer) -> list[str]:
    """For the summary: each API called, its rate and where it came from, and how it adapted."""
    lines = [f"Warning: {warning}" for warning in plan.warnings]
    # The job's APIs only: the CLI's one DescribeInstance before the job is not the job's pacing.
    paces = [pace for pace in pacer.paces() if pace.api in plan.rates]
    if not paces:
        return lines
    lines.append(
        f"Pacing per Connect API (at {plan.headroom_percent:g}% of each quota read from Service Quotas):"
    )
    for pace in paces:
        source = plan.sources.get(pace.api, "documented default")
        text = f"  {pace.api}: {pace.ceiling:.3g}/s, burst {pace.burst} ({source})"
        if pace.throttles:
            text += (
                f"; throttled {pace.throttles} times by other use of the quota: lowest {pace.lowest:.3g}/s, "
                f"ended at {pace.current:.3g}/s"
            )
        lines.append(text)
    return lines
