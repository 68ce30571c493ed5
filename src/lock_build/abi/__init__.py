"""ABI packages and their compatibility rules (see ``rules.py``, ``records.py``)."""

from lock_build.abi.records import AbiMismatchError, AbiRecord, check_runtime
from lock_build.abi.rules import (
    EQUAL,
    AbiRule,
    AbiRuleError,
    AbiRules,
    Clause,
    builtin_rules,
    config_rules,
    equal_rule,
    parse_rules,
)

__all__ = [
    "EQUAL",
    "AbiMismatchError",
    "AbiRecord",
    "AbiRule",
    "AbiRuleError",
    "AbiRules",
    "Clause",
    "builtin_rules",
    "check_runtime",
    "config_rules",
    "equal_rule",
    "parse_rules",
]
