"""Who is asking, every check made on their behalf, and AWS's words for a refusal."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from iam_enforcement.policy import Decision, Outcome

ACCOUNT = "123456789012"  # moto's default account, which the local stand-ins live in
ROLE_NAME = "connect-profiles-job"


@dataclass(frozen=True, slots=True)
class Principal:
    """The assumed-role session the function runs as."""

    account: str = ACCOUNT
    role_name: str = ROLE_NAME
    session_name: str = "test"
    partition: str = "aws"

    @property
    def arn(self) -> str:
        """As AWS names the caller in an AccessDenied message."""
        return f"arn:{self.partition}:sts::{self.account}:assumed-role/{self.role_name}/{self.session_name}"

    @property
    def role_arn(self) -> str:
        """aws:PrincipalArn for a role session is the role's ARN."""
        return f"arn:{self.partition}:iam::{self.account}:role/{self.role_name}"

    def context(self, region: str) -> dict[str, str]:
        """The global condition keys every request of this principal carries."""
        return {
            "aws:PrincipalArn": self.role_arn,
            "aws:PrincipalAccount": self.account,
            "aws:PrincipalType": "AssumedRole",
            "aws:RequestedRegion": region,
            "aws:SecureTransport": "true",  # the deployed function calls AWS over TLS
        }


@dataclass(frozen=True, slots=True)
class Check:
    """One (action, resource) authorisation, as part of one API call."""

    source: str  # "client": an in-process botocore call; "emulator": the Connect emulator's seam
    operation: str  # "<service>.<Operation>", e.g. "s3.ListObjectsV2"
    action: str
    resource: str
    decision: Decision
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    def describe(self) -> str:
        verdict = "allowed" if self.allowed else str(self.decision.outcome)
        return f"{self.operation}: {self.action} on {self.resource}: {verdict}"


def not_authorized(principal: Principal, decision: Decision, *, quote_resource: bool = False) -> str:
    """AWS's message: `User: <arn> is not authorized to perform: <action> on resource: <arn>
    because no identity-based policy allows the <action> action` (S3 quotes the resource)."""
    resource = f'"{decision.resource}"' if quote_resource else decision.resource
    return (
        f"User: {principal.arn} is not authorized to perform: {decision.action} "
        f"on resource: {resource} {decision.because}"
    )


class AccessLog:
    """Every check made while enforcement is on, allowed or not, in order; thread-safe."""

    def __init__(self) -> None:
        self._checks: list[Check] = []
        self._lock = threading.Lock()

    def add(self, checks: Iterable[Check]) -> None:
        with self._lock:
            self._checks.extend(checks)

    @property
    def checks(self) -> list[Check]:
        with self._lock:
            return list(self._checks)

    @property
    def denials(self) -> list[Check]:
        return [check for check in self.checks if not check.allowed]

    def clear(self) -> None:
        with self._lock:
            self._checks.clear()

    def summary(self, checks: Iterable[Check] | None = None) -> str:
        """One line per distinct (operation, action, resource, verdict), with a count."""
        counts: dict[str, int] = {}
        for check in self.checks if checks is None else checks:
            line = check.describe()
            counts[line] = counts.get(line, 0) + 1
        return "\n".join(f"{line} (x{n})" if n > 1 else line for line, n in counts.items())

    def denial_report(self) -> str:
        return self.summary(self.denials)


def explicit_or_implicit(decisions: Iterable[Decision]) -> Decision | None:
    """The first refusal among a request's decisions (explicit denies first), or None."""
    refused = [d for d in decisions if not d.allowed]
    refused.sort(key=lambda d: d.outcome is not Outcome.EXPLICIT_DENY)
    return refused[0] if refused else None
