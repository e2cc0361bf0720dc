"""Identity-based policy evaluation, the way IAM decides one request against one principal's policies.

What is modelled (IAM User Guide, "Policy evaluation logic" and "IAM JSON policy elements"):

- Statements with `Effect` Allow or Deny, `Action` or `NotAction`, `Resource` or `NotResource`,
  and an optional `Condition` block.
- `*` (any run of characters, including none) and `?` (one character) in actions and resources.
  Actions compare case-insensitively; resources case-sensitively, ARN segment by ARN segment
  (partition, service, region, account, then the resource part, which may contain `:` and `/`).
- Explicit deny wins over any allow; a request no statement allows is implicitly denied.
- Condition operators: String(Not)Equals, String(Not)EqualsIgnoreCase, String(Not)Like,
  Arn(Not)Equals, Arn(Not)Like, Bool, Null, each with `...IfExists`, and the `ForAnyValue:` /
  `ForAllValues:` set qualifiers. Keys compare case-insensitively, as IAM's do. Every operator in a
  block, and every key under an operator, must hold; a key holds when any of its values matches.
  A key missing from the request fails a positive operator and satisfies a negated one.

Anything outside that (policy variables, numeric or date operators, Principal, Fn:: leftovers) is
refused with `UnsupportedPolicy` rather than guessed at: an evaluator that silently allows is
worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

# A request's condition context: key -> one value or several (a multivalued key).
Context = Mapping[str, str | Sequence[str]]


class UnsupportedPolicy(ValueError):
    """The policy uses something this evaluator does not model; fix the evaluator, not the test."""


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True, slots=True)
class Statement:
    effect: Effect
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_action: bool = False
    not_resource: bool = False
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    sid: str | None = None

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> Statement:
        unknown = set(document) - {
            "Sid",
            "Effect",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
        }
        if unknown:
            raise UnsupportedPolicy(f"statement elements not modelled: {sorted(unknown)} in {document}")
        if document.get("Effect") not in ("Allow", "Deny"):
            raise UnsupportedPolicy(f"Effect must be Allow or Deny: {document}")
        if ("Action" in document) == ("NotAction" in document):
            raise UnsupportedPolicy(f"exactly one of Action and NotAction: {document}")
        if ("Resource" in document) == ("NotResource" in document):
            raise UnsupportedPolicy(f"exactly one of Resource and NotResource: {document}")
        actions = _strings(document.get("Action", document.get("NotAction")), "Action")
        resources = _strings(document.get("Resource", document.get("NotResource")), "Resource")
        for resource in resources:
            if re.search(r"\$\{(?![*?$]\})", resource):
                raise UnsupportedPolicy(f"policy variables are not modelled: {resource}")
        conditions: dict[str, dict[str, tuple[str, ...]]] = {}
        for operator, block in dict(document.get("Condition", {})).items():
            _operator(operator)  # refuse unknown operators when the policy is read, not on first use
            if not isinstance(block, Mapping):
                raise UnsupportedPolicy(f"condition {operator} must map keys to values: {block}")
            conditions[operator] = {key: _strings(value, f"{operator}.{key}") for key, value in block.items()}
        return cls(
            effect=Effect(document["Effect"]),
            actions=actions,
            resources=resources,
            not_action="NotAction" in document,
            not_resource="NotResource" in document,
            conditions=conditions,
            sid=document.get("Sid"),
        )

    def applies(self, action: str, resource: str, context: Context) -> bool:
        """Whether this statement speaks to the request (its effect then counts)."""
        action_matches = any(action_matches_pattern(pattern, action) for pattern in self.actions)
        if action_matches == self.not_action:
            return False
        resource_matches = any(resource_matches_pattern(pattern, resource) for pattern in self.resources)
        if resource_matches == self.not_resource:
            return False
        return all(
            _condition_holds(operator, key, values, context)
            for operator, block in self.conditions.items()
            for key, values in block.items()
        )

    def as_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {"Effect": str(self.effect)}
        if self.sid:
            document["Sid"] = self.sid
        document["NotAction" if self.not_action else "Action"] = list(self.actions)
        document["NotResource" if self.not_resource else "Resource"] = list(self.resources)
        if self.conditions:
            document["Condition"] = {
                operator: {key: list(values) for key, values in block.items()}
                for operator, block in self.conditions.items()
            }
        return document


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    action: str
    resource: str
    # The statements that decided: the denying ones for an explicit deny, the allowing ones otherwise.
    statements: tuple[Statement, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED

    @property
    def because(self) -> str:
        """The tail of AWS's AccessDenied message ("... because <this>")."""
        if self.outcome is Outcome.EXPLICIT_DENY:
            return f"with an explicit deny in an identity-based policy: {self.action}"
        return f"because no identity-based policy allows the {self.action} action"


@dataclass(frozen=True, slots=True)
class Policy:
    """Every identity-based statement a principal has, from any number of policy documents."""

    statements: tuple[Statement, ...]

    @classmethod
    def from_documents(cls, documents: Iterable[Mapping[str, Any]]) -> Policy:
        statements: list[Statement] = []
        for document in documents:
            raw = document.get("Statement", [])
            for statement in [raw] if isinstance(raw, Mapping) else raw:
                statements.append(Statement.parse(statement))
        return cls(tuple(statements))

    @classmethod
    def from_statements(cls, statements: Iterable[Mapping[str, Any]]) -> Policy:
        return cls(tuple(Statement.parse(statement) for statement in statements))

    def evaluate(self, action: str, resource: str, context: Context | None = None) -> Decision:
        applicable = [s for s in self.statements if s.applies(action, resource, context or {})]
        denying = tuple(s for s in applicable if s.effect is Effect.DENY)
        if denying:
            return Decision(Outcome.EXPLICIT_DENY, action, resource, denying)
        allowing = tuple(s for s in applicable if s.effect is Effect.ALLOW)
        if allowing:
            return Decision(Outcome.ALLOWED, action, resource, allowing)
        return Decision(Outcome.IMPLICIT_DENY, action, resource)

    def evaluate_all(
        self, action: str, resources: Iterable[str], context: Context | None = None
    ) -> list[Decision]:
        """One decision per ARN the request needs; the request is allowed only if every one is."""
        return [self.evaluate(action, resource, context) for resource in resources]

    def without(self, index: int, action: str, resource: str | None = None) -> Policy:
        """This policy less one action of statement `index` (on one of its resources, or on all),
        everything else the statement grants kept."""
        statements = list(self.statements)
        dropped = statements[index]
        if action not in dropped.actions or (resource is not None and resource not in dropped.resources):
            raise ValueError(f"{action} on {resource} is not in statement {index}: {dropped}")
        others = tuple(a for a in dropped.actions if a != action)
        rest = tuple(r for r in dropped.resources if r != resource) if resource is not None else ()
        replacement = [
            Statement(
                dropped.effect,
                actions,
                resources,
                False,
                dropped.not_resource,
                dropped.conditions,
                dropped.sid,
            )
            for actions, resources in ((others, dropped.resources), ((action,), rest))
            if actions and resources
        ]
        if dropped.not_action:
            raise UnsupportedPolicy("dropping an action from a NotAction statement widens it")
        statements[index : index + 1] = replacement
        return Policy(tuple(statements))

    def as_document(self) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [s.as_document() for s in self.statements]}


# --- matching ------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob_matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).match(value) is not None


def action_matches_pattern(pattern: str, action: str) -> bool:
    """`s3:Get*` matches `s3:GetObject`; service prefix and name compare case-insensitively."""
    return glob_matches(pattern, action, ignore_case=True)


def _arn_segments(arn: str) -> list[str] | None:
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def resource_matches_pattern(pattern: str, resource: str) -> bool:
    """Resource element matching: `*` matches everything; otherwise segment by segment, so a
    wildcard never spans the colons between partition, service, region, account and resource."""
    if pattern == "*":
        return True
    wanted, actual = _arn_segments(pattern), _arn_segments(resource)
    if wanted is None or actual is None:
        return glob_matches(pattern, resource)
    return all(glob_matches(w, a) for w, a in zip(wanted, actual, strict=True))


def _arn_equals(pattern: str, value: str) -> bool:
    wanted, actual = _arn_segments(pattern), _arn_segments(value)
    return wanted is not None and wanted == actual


def _arn_like(pattern: str, value: str) -> bool:
    wanted, actual = _arn_segments(pattern), _arn_segments(value)
    if wanted is None or actual is None:
        return False
    return all(glob_matches(w, a) for w, a in zip(wanted, actual, strict=True))


def _bool(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


_MATCHERS = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": glob_matches,
    "ArnEquals": _arn_equals,
    "ArnLike": _arn_like,
    "Bool": _bool,
}
_NEGATIONS = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


@dataclass(frozen=True, slots=True)
class _Operator:
    name: str
    qualifier: str | None  # "ForAnyValue", "ForAllValues" or None
    if_exists: bool


def _operator(operator: str) -> _Operator:
    qualifier, _, name = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise UnsupportedPolicy(f"condition set qualifier not modelled: {operator}")
    if_exists = name.endswith("IfExists")
    base = name.removesuffix("IfExists")
    if base not in _MATCHERS and base not in _NEGATIONS and base != "Null":
        raise UnsupportedPolicy(f"condition operator not modelled: {operator}")
    if base == "Null" and (if_exists or qualifier):
        raise UnsupportedPolicy(f"condition operator not modelled: {operator}")
    return _Operator(base, qualifier or None, if_exists)


def _lookup(context: Context, key: str) -> tuple[str, ...] | None:
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return (value,) if isinstance(value, str) else tuple(value)
    return None


def _condition_holds(operator: str, key: str, wanted: tuple[str, ...], context: Context) -> bool:
    op = _operator(operator)
    present = _lookup(context, key)
    if op.name == "Null":
        # {"Null": {"k": "true"}} holds when k is absent; "false" when it is present.
        return any((present is None) == (value.lower() == "true") for value in wanted)
    negated = op.name in _NEGATIONS
    match = _MATCHERS[_NEGATIONS.get(op.name, op.name)]
    if present is None:
        # Missing key: IfExists and negated operators hold, positive ones fail; ForAllValues holds
        # on an empty set (IAM's documented pitfall).
        return op.if_exists or negated or op.qualifier == "ForAllValues"

    def one(value: str) -> bool:
        found = any(match(pattern, value) for pattern in wanted)
        return not found if negated else found

    if op.qualifier == "ForAllValues":
        return all(one(value) for value in present)
    # Single-valued keys and ForAnyValue: some value of the request satisfies it.
    return any(one(value) for value in present)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    values = value if isinstance(value, list | tuple) else [value]
    if not values or not all(isinstance(item, str | bool | int) for item in values):
        raise UnsupportedPolicy(f"{where}: expected strings, got {value!r} (unresolved intrinsic?)")
    return tuple(str(item).lower() if isinstance(item, bool) else str(item) for item in values)
