"""The IAM seam: every routed request is put to an `Authorizer` before it is throttled or run.

AWS evaluates IAM on every Connect call, so a stand-in that skips it forgives exactly the missing
permission that breaks a deployment. The emulator does not evaluate policies itself: it asks an
`Authorizer` (a policy evaluator lives elsewhere; `AllowActions` is enough for the emulator's own
tests) and, on a denial, answers as AWS does: HTTP 403 `AccessDeniedException` with the message
`User: <caller> is not authorized to perform: <action> on resource: <arn> because <reason>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

# The principal the denial message names: the job role's session, as the Lambda would call.
DEFAULT_CALLER_ARN = "arn:aws:sts::123456789012:assumed-role/connect-profiles-job/emulator"
_NOT_AUTHORIZED = "is not authorized to perform:"


class Authorizer(Protocol):
    def authorize(self, action: str, resources: Mapping[str, str]) -> str | None:
        """None when allowed; otherwise the reason it is denied."""
        ...


class AllowActions:
    """Allows the listed actions on every resource and denies the rest, as a role whose only
    statement is `Allow <actions> on *` would."""

    def __init__(self, actions: Iterable[str]) -> None:
        self.actions = frozenset(actions)

    def authorize(self, action: str, resources: Mapping[str, str]) -> str | None:
        if action in self.actions:
            return None
        return f"no identity-based policy allows the {action} action"


def request_resources(instance_arn: str, user_id: str | None) -> dict[str, str]:
    """The resource ARNs a Connect action touches, keyed by the Service Authorization Reference's
    resource type: `instance` always, `user` (`instance/<id>/agent/<user id>`) for per-user calls."""
    resources = {"instance": instance_arn}
    if user_id is not None:
        resources["user"] = f"{instance_arn}/agent/{user_id}"
    return resources


def denial_message(caller_arn: str, action: str, resources: Mapping[str, str], reason: str) -> str:
    """AWS's AccessDeniedException text. A reason already in that form (a full evaluator message)
    is kept; otherwise the denied resource is the one the reason names, else the most specific
    one (the user before the instance, whose ARN the user's contains)."""
    if _NOT_AUTHORIZED in reason:
        return reason
    named = [arn for arn in sorted(resources.values(), key=len, reverse=True) if arn in reason]
    resource = named[0] if named else resources.get("user", resources["instance"])
    because = reason.removeprefix("because ").strip()
    return f"User: {caller_arn} {_NOT_AUTHORIZED} {action} on resource: {resource} because {because}"
