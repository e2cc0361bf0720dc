"""Where the CLI is about to read and write (account, Region, instance), and one-line advice for the
ways AWS can stop it: no Region, no credentials, an unknown instance, a refused permission, Connect
busy past every retry."""

from __future__ import annotations

from dataclasses import dataclass

from connect_profiles.adapters.connect import ConnectGateway, InstanceNotFound
from connect_profiles.adapters.identity import Caller, NoCredentials, NoRegion, RegionChoice, UnknownProfile
from connect_profiles.domain.engine import ConnectBusy, JobResult
from connect_profiles.domain.model import Status
from connect_profiles.ports import TRANSIENT_CODES, ConnectCallError, ConnectUnreachable, PermissionDenied


@dataclass(frozen=True, slots=True)
class Target:
    account: str  # "" when STS could not be asked
    caller_arn: str
    region: RegionChoice
    instance_id: str
    alias: str  # "" when DescribeInstance was refused
    note: str = ""  # why the alias is missing

    @property
    def instance(self) -> str:
        """`alias (id)`, or the id alone when the alias is unknown."""
        return f"{self.alias} ({self.instance_id})" if self.alias else self.instance_id

    @property
    def where(self) -> str:
        """`alias (id) in account/region`, as the confirmation question says it."""
        return f"{self.instance} in {self.account or 'an unknown account'}/{self.region.name}"

    def line(self) -> str:
        account = self.account or "unknown (STS GetCallerIdentity did not answer)"
        return (
            f"Target: account {account}, Region {self.region.name} (from {self.region.source}), "
            f"instance {self.instance}"
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.instance_id,
            "alias": self.alias,
            "account": self.account,
            "region": self.region.name,
        }


def find_target(gateway: ConnectGateway, who: Caller, region: RegionChoice) -> Target:
    """DescribeInstance for the alias; an unknown instance raises InstanceNotFound (naming the Region
    looked in). A refused DescribeInstance is no reason to stop: the id alone is shown."""
    try:
        alias = gateway.instance_alias()
        note = ""
    except PermissionDenied as error:
        alias = ""
        note = (
            f"note: the instance alias is not shown: {error.action} was denied "
            "(see Permissions for the CLI in the README)"
        )
    return Target(who.account, who.arn, region, gateway.instance_id, alias, note)


NO_REGION = (
    "no AWS Region is set: pass --region REGION, set AWS_REGION or AWS_DEFAULT_REGION, or give your "
    "profile a region (aws configure set region REGION)"
)


def advice(error: BaseException, region: RegionChoice | None = None) -> str | None:
    """The one line a person reads for an error AWS raised, or None when there is none to give."""
    if isinstance(error, NoRegion):
        return NO_REGION
    if isinstance(error, NoCredentials):
        return (
            f"no usable AWS credentials ({error}): run `aws configure` (access keys) or "
            "`aws sso login` (IAM Identity Center), or pass --profile NAME"
        )
    if isinstance(error, UnknownProfile):
        return (
            f"no AWS profile {error.profile!r} in your AWS configuration: check --profile, or create "
            f"it with `aws configure --profile {error.profile}`"
        )
    if isinstance(error, InstanceNotFound):
        source = f" (from {region.source})" if region and region.name == error.region else ""
        return f"{error}{source}"
    if isinstance(error, PermissionDenied):
        return (
            f"permission denied: {error.action} on {error.resource}. Use credentials allowed to call it "
            "(--profile, or your AWS environment), or ask your AWS administrator to grant it "
            "(README: Permissions for the CLI)."
        )
    if _busy(error):
        return (
            f"nothing was applied: Connect stayed throttled or unavailable past every retry ({error}). "
            "Wait a few minutes and run the same command again; if other tools share the quota, "
            "a lower --rate helps."
        )
    return None


def _busy(error: BaseException) -> bool:
    if isinstance(error, ConnectCallError):
        return error.transient
    return isinstance(error, ConnectBusy | ConnectUnreachable)


def busy_rows_hint(result: JobResult, retry_file: str | None) -> str | None:
    """When rows failed because Connect stayed busy (throttled, 5xx, unreachable) past the retries:
    what happened and what to do. The report says what was done, so running again is safe."""
    busy = [
        outcome
        for outcome in result.outcomes
        if outcome.status is Status.FAILED and _busy_message(outcome.message)
    ]
    if not busy:
        return None
    again = f"apply {retry_file}, which holds only the failed rows" if retry_file else "run it again"
    return (
        f"{len(busy)} rows failed because Connect stayed throttled or unavailable past every retry: "
        f"wait a few minutes, then {again} (the report shows what was done)"
    )


def _busy_message(message: str) -> bool:
    return (
        any(f" failed: {code}:" in message for code in TRANSIENT_CODES) or "Connect is unavailable" in message
    )
