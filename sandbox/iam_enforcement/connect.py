"""Amazon Connect authorisation: the ARNs the reference requires for an action, each against the policy.

`ConnectAuthorizer` implements the Connect emulator's seam
(`connect_emulator.authorization.Authorizer`): `authorize(action, resources)` returns None when the
request is allowed, else the reason. The emulator passes `resources` as
`{"instance": <instance ARN>, "user": <instance ARN>/agent/<UserId>}` (user only when the request
names a user). Which of them must be allowed comes from the Service Authorization Reference, not
from the emulator: ListUsers needs `instance`, ListUserProficiencies `instance` and `user`,
DescribeUser `user` only. A resource the reference requires but the request does not name is a
refusal, never a pass.
"""

from __future__ import annotations

from collections.abc import Mapping

from iam_enforcement import sar
from iam_enforcement.decisions import AccessLog, Check, Principal, explicit_or_implicit, not_authorized
from iam_enforcement.policy import Decision, Outcome, Policy


def instance_arn(instance_id: str, *, region: str, account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:connect:{region}:{account}:instance/{instance_id}"


def connect_resources(
    params: Mapping[str, object], *, region: str, account: str, partition: str = "aws"
) -> dict[str, str]:
    """The emulator's `resources` argument for a request's parameters (InstanceId, UserId)."""
    instance = instance_arn(str(params["InstanceId"]), region=region, account=account, partition=partition)
    resources = {"instance": instance}
    if "UserId" in params:
        resources["user"] = f"{instance}/agent/{params['UserId']}"
    return resources


class ConnectAuthorizer:
    """Checks each Connect request against the job role's policy; records every check in `log`."""

    def __init__(
        self,
        policy: Policy,
        *,
        principal: Principal | None = None,
        log: AccessLog | None = None,
        source: str = "emulator",
    ) -> None:
        self.policy = policy
        self.principal = principal or Principal()
        self.log = log if log is not None else AccessLog()
        self.source = source

    def authorize(self, action: str, resources: Mapping[str, str]) -> str | None:
        checks = self.checks(action, resources)
        self.log.add(checks)
        refused = explicit_or_implicit(check.decision for check in checks)
        return None if refused is None else not_authorized(self.principal, refused)

    def checks(self, action: str, resources: Mapping[str, str]) -> list[Check]:
        operation = f"connect.{action.partition(':')[2]}"
        instance = resources.get("instance", "")
        context = {
            **self.principal.context(_region(instance)),
            "connect:InstanceId": instance.rpartition("/")[2],
        }
        try:
            required = sar.required_resource_types(action)
        except sar.UnknownAction:
            # Not an action IAM knows: nothing can allow it.
            return [Check(self.source, operation, action, "*", Decision(Outcome.IMPLICIT_DENY, action, "*"))]
        if not required:
            # An action with no resource types (servicequotas:ListServiceQuotas): IAM checks it on "*".
            return [
                Check(
                    self.source, operation, action, "*", self.policy.evaluate(action, "*", context), context
                )
            ]
        checks = []
        for resource_type in required:
            arn = resources.get(resource_type)
            if arn is None:
                arn = f"<{resource_type} ARN the request does not name>"
                decision = Decision(Outcome.IMPLICIT_DENY, action, arn)
            else:
                decision = self.policy.evaluate(action, arn, context)
            checks.append(Check(self.source, operation, action, arn, decision, context))
        return checks


def _region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""
