"""ABI rules: which runtime versions a wheel built against version B of a package runs with.

Equality (build against exactly the runtime version) is safe but blunt: numpy's 2.x
builds run on 1.x, so an sdist declaring ``numpy>=2`` needs no substitution next to a
runtime numpy 1.26. The rules are data (``rules.toml`` in this package, and
``[tool.lock-build.abi]`` in a project's configuration), validated here into typed
values; the build policy (``locking/builds.py``) and sync's check only ask a rule two
questions: what does a build against B run with, and is runtime R in that range.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, Literal, get_args

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from lock_build.errors import InputError

__all__ = [
    "EQUAL",
    "AbiRule",
    "AbiRuleError",
    "AbiRules",
    "Clause",
    "RuleKind",
    "builtin_rules",
    "config_rules",
    "equal_rule",
    "parse_rules",
]

RuleKind = Literal["ranges", "equal", "same-artifact"]
_KINDS: tuple[str, ...] = get_args(RuleKind)
_TEMPLATE = "{build}"
# The rule name recorded for equality that an option asked for (--match-runtime, --abi-equal).
EQUAL = "equal"


class AbiRuleError(InputError):
    """An ABI rule (shipped, or from configuration) that cannot be used."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(
            f"{where}: {problem}.",
            hint='A rule is {kind = "ranges", source = URL, clauses = [{build = ">=2.3,<3", '
            'runs-with = ">=1.23,<3"}, ...]}, or kind "equal" / "same-artifact" '
            '(README, "ABI rules").',
        )
        self.where = where
        self.problem = problem


@dataclass(frozen=True, kw_only=True, slots=True)
class Clause:
    """Builds whose version is in ``build`` run with ``runs_with`` (``{build}`` = that version)."""

    build: SpecifierSet
    runs_with: str  # a specifier-set template, validated when parsed

    def runs_with_for(self, built: Version) -> SpecifierSet:
        return SpecifierSet(self.runs_with.replace(_TEMPLATE, str(built)))


@dataclass(frozen=True, kw_only=True, slots=True)
class AbiRule:
    package: NormalizedName
    kind: RuleKind
    name: str  # what the lock records as `rule`: the package's rule, or "equal"
    clauses: tuple[Clause, ...] = ()
    source: str | None = None  # the upstream statement the rule comes from

    def runs_with(self, built: Version) -> SpecifierSet:
        """The runtime versions a wheel built against ``built`` runs with."""
        if self.kind == "ranges":
            for clause in self.clauses:
                if clause.build.contains(built, prereleases=True):
                    return clause.runs_with_for(built)
        if self.kind == "same-artifact":
            # `==2.3.0` would also match 2.3.0+cu121; the very version string does not.
            return SpecifierSet(f"==={built}")
        return SpecifierSet(f"=={built}")

    def accepts(self, built: Version, runtime: Version) -> bool:
        if built == runtime and str(built) == str(runtime):
            return True
        return self.runs_with(built).contains(runtime, prereleases=True)

    def compatible(self, runtime: Version, available: Iterable[Version]) -> tuple[Version, ...]:
        """The ``available`` build versions whose wheels run with ``runtime``, newest first."""
        return tuple(sorted((v for v in available if self.accepts(v, runtime)), reverse=True))


def equal_rule(package: NormalizedName) -> AbiRule:
    return AbiRule(package=package, kind="equal", name=EQUAL)


@dataclass(frozen=True, kw_only=True, slots=True)
class AbiRules:
    """The ABI packages of one compile, each with its rule, and per-sdist equality overrides."""

    rules: Mapping[NormalizedName, AbiRule] = field(default_factory=dict)
    # sdist -> ABI packages its build must match exactly (--abi-equal SDIST:PKG): a package
    # may raise numpy's target version, and then its 2.x build no longer runs on 1.x.
    equal_for: Mapping[NormalizedName, frozenset[NormalizedName]] = field(default_factory=dict)

    @property
    def packages(self) -> frozenset[NormalizedName]:
        return frozenset(self.rules)

    def rule_for(self, package: NormalizedName, sdist: NormalizedName) -> AbiRule | None:
        """``package``'s rule in ``sdist``'s build; equality where ``--abi-equal`` asks,
        whether or not the package is otherwise an ABI package."""
        if package in self.equal_for.get(sdist, frozenset()):
            return equal_rule(package)
        return self.rules.get(package)

    def overridden(
        self,
        *,
        config: Mapping[NormalizedName, AbiRule | None] | None = None,
        match_runtime: Iterable[str] = (),
        no_match_runtime: Iterable[str] = (),
        equal_for: Iterable[tuple[str, str]] = (),
    ) -> AbiRules:
        """These rules with the user's: config first, then the command line, which wins.

        ``config`` maps a package to its rule, or to ``None`` to drop it (``numpy = false``);
        ``--match-runtime P`` makes P's rule equality, ``--no-match-runtime P`` drops P."""
        rules: dict[NormalizedName, AbiRule] = dict(self.rules)
        for name, rule in (config or {}).items():
            if rule is None:
                rules.pop(name, None)
            else:
                rules[name] = rule
        for text in match_runtime:
            name = canonicalize_name(text)
            rules[name] = equal_rule(name)
        for text in no_match_runtime:
            rules.pop(canonicalize_name(text), None)
        per_sdist = {k: set(v) for k, v in self.equal_for.items()}
        for sdist, package in equal_for:
            per_sdist.setdefault(canonicalize_name(sdist), set()).add(canonicalize_name(package))
        return replace(
            self,
            rules=dict(sorted(rules.items())),
            equal_for={k: frozenset(v) for k, v in sorted(per_sdist.items())},
        )


# --- reading rules ----------------------------------------------------------------------


def builtin_rules() -> AbiRules:
    """The rules shipped with lock-build (``rules.toml``)."""
    text = resources.files("lock_build.abi").joinpath("rules.toml").read_text(encoding="utf-8")
    parsed = parse_rules(tomllib.loads(text), where="lock_build/abi/rules.toml")
    return AbiRules(rules={k: v for k, v in parsed.items() if v is not None})


def config_rules(raw: object, *, where: str) -> dict[NormalizedName, AbiRule | None]:
    """The ``abi`` table of the project's configuration (passed through raw by ``config``)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise AbiRuleError(where, f"is {raw!r}, not a table of rules by package")
    return parse_rules(raw, where=where)


def parse_rules(data: Mapping[str, Any], *, where: str) -> dict[NormalizedName, AbiRule | None]:
    """Validate a table of rules (``package -> table | kind | false``) into typed values.

    ``false`` means "not an ABI package" (it removes a shipped rule)."""
    rules: dict[NormalizedName, AbiRule | None] = {}
    for key, value in data.items():
        name = canonicalize_name(str(key))
        here = f"{where}: {key}"
        if value is False:
            rules[name] = None
        elif isinstance(value, str):
            rules[name] = _rule(name, {"kind": value}, here)
        elif isinstance(value, Mapping):
            rules[name] = _rule(name, value, here)
        else:
            raise AbiRuleError(here, f"is {value!r}, not a rule table, a kind or false")
    return rules


def _rule(name: NormalizedName, table: Mapping[str, Any], where: str) -> AbiRule:
    unknown = sorted(set(table) - {"kind", "source", "clauses"})
    if unknown:
        raise AbiRuleError(where, f"has unknown key(s) {', '.join(unknown)}")
    kind = table.get("kind", "ranges" if "clauses" in table else None)
    if kind not in _KINDS:
        raise AbiRuleError(f"{where}.kind", f"is {kind!r}, not one of {', '.join(_KINDS)}")
    source = table.get("source")
    if source is not None and not isinstance(source, str):
        raise AbiRuleError(f"{where}.source", "must be a URL string")
    raw = table.get("clauses", ())
    if kind != "ranges" and raw:
        raise AbiRuleError(f"{where}.clauses", f"are only for kind 'ranges', not {kind!r}")
    if kind == "ranges" and (not isinstance(raw, list) or not raw):
        raise AbiRuleError(f"{where}.clauses", "must be a non-empty array of tables")
    clauses = tuple(_clause(item, f"{where}.clauses[{i}]") for i, item in enumerate(raw))
    return AbiRule(
        package=name,
        kind=kind,  # checked against _KINDS above
        name=name,
        clauses=clauses,
        source=source,
    )


def _clause(item: object, where: str) -> Clause:
    if not isinstance(item, Mapping) or set(item) != {"build", "runs-with"}:
        raise AbiRuleError(where, 'must be a table with exactly "build" and "runs-with"')
    build, runs_with = item["build"], item["runs-with"]
    if not isinstance(build, str) or not isinstance(runs_with, str):
        raise AbiRuleError(where, "build and runs-with must be strings")
    try:
        build_set = SpecifierSet(build)
    except InvalidSpecifier as exc:
        raise AbiRuleError(
            f"{where}.build", f"{build!r} is not a version specifier ({exc})"
        ) from None
    if _TEMPLATE in build:
        raise AbiRuleError(f"{where}.build", f"{_TEMPLATE} belongs in runs-with only")
    try:
        # A sample version proves the template is a specifier set for any build version.
        SpecifierSet(runs_with.replace(_TEMPLATE, "1.0"))
    except InvalidSpecifier as exc:
        raise AbiRuleError(
            f"{where}.runs-with", f"{runs_with!r} is not a version specifier ({exc})"
        ) from None
    return Clause(build=build_set, runs_with=runs_with)
