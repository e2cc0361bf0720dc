"""cfn-lint, on the template `cdk synth` writes, in Regions where Amazon Connect runs."""

from __future__ import annotations

from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from tests.infrastructure.synthesis import Synthesis

CONNECT_REGIONS = ["us-east-1", "us-west-2", "eu-west-2", "eu-central-1", "ap-southeast-2", "ap-northeast-1"]
# W3005: CDK adds a DependsOn on a function's role that its GetAtt already implies. Redundant, harmless,
# and not ours to change (CDK's own custom-resource function does it too).
IGNORED = ["W3005"]


def test_template_passes_cfn_lint_with_no_errors_or_warnings(synth: Synthesis) -> None:
    matches = lint_file(
        synth.template_file, config=ManualArgs(regions=CONNECT_REGIONS, ignore_checks=IGNORED)
    )

    assert [f"{match.rule.id} {match.message} ({match.path_string})" for match in matches] == []


def test_variant_template_passes_cfn_lint_too(variant: Synthesis) -> None:
    matches = lint_file(
        variant.template_file, config=ManualArgs(regions=CONNECT_REGIONS, ignore_checks=IGNORED)
    )

    assert [f"{match.rule.id} {match.message}" for match in matches] == []
