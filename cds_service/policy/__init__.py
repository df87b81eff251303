"""The card policy a CDS committee edits (clinical reference 0.10 item 20, issue 24): a TOML file read once at
start-up, and the pure decision of which cards it holds back (`decide`). No database, no Flask.

    [defaults]                       # every family, unless the family says otherwise
    repeat_window_minutes = 60       # an unchanged critical card not about a draft: once per clinician and patient
    [families.opioid-benzodiazepine]
    off_at = ["order-sign"]          # hooks where the family is never returned
    snooze_reasons = ["patient-declined"]   # an override with one of these reasons...
    snooze_days = 30                 # ...silences the family for that patient until its findings change
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..cards import COMMON_OVERRIDES
from ..rules import FAMILIES as _RULES
from ..rules import nsaid_contraindicated, opioid_benzodiazepine, red_flags

HOOKS = ("patient-view", "order-select", "order-sign")
OVERRIDE_CODES = tuple(code for code, _ in COMMON_OVERRIDES)  # the reasons our cards offer
FAMILIES: tuple[str, ...] = tuple(family.TOPIC for family in _RULES)
DEFAULT_WINDOW_MINUTES = 60
MAX_WINDOW_MINUTES = 7 * 24 * 60
MAX_SNOOZE_DAYS = 365
# The safety floor (issue 24): these cards are always returned at patient-view, whatever the policy says.
# family -> the indicator the card must have (None: any).
FLOOR = {red_flags.TOPIC: "critical", opioid_benzodiazepine.TOPIC: None, nsaid_contraindicated.TOPIC: "critical"}
FLOOR_TEXT = "red-flags Tier A (critical), opioid-benzodiazepine, nsaid-contraindicated (critical)"
_KEYS = ("off_at", "repeat_window_minutes", "snooze_reasons", "snooze_days")


class PolicyError(ValueError):
    """A policy file we refuse; the message is one line that names the key."""


@dataclass(frozen=True)
class FamilyPolicy:
    off_at: frozenset[str] = frozenset()
    repeat_window_minutes: int = DEFAULT_WINDOW_MINUTES
    snooze_reasons: frozenset[str] = frozenset()
    snooze_days: int = 0  # 0: no snooze


@dataclass(frozen=True)
class CardPolicy:
    """The effective policy: one FamilyPolicy per family (defaults filled in)."""

    families: dict[str, FamilyPolicy] = field(default_factory=lambda: {f: FamilyPolicy() for f in FAMILIES})
    source: str = "(built-in defaults)"

    def of(self, family: str) -> FamilyPolicy:
        return self.families.get(family) or FamilyPolicy()

    @property
    def snoozes(self) -> bool:
        return any(p.snooze_days for p in self.families.values())

    def describe(self) -> str:
        """The effective policy as a table a committee reads (`backpain-cds policy check`)."""
        lines = [
            f"Card policy: {self.source}",
            "",
            f"{'family':<27}{'off at':<28}{'repeat window':<15}snooze after override",
        ]
        for family, p in self.families.items():
            off = ", ".join(h for h in HOOKS if h in p.off_at) or "-"
            window = f"{p.repeat_window_minutes} min" if p.repeat_window_minutes else "none"
            snooze = f"{p.snooze_days} days on {', '.join(sorted(p.snooze_reasons))}" if p.snooze_days else "-"
            floor = (
                " (the floor still shows it at patient-view)"
                if family in FLOOR and ("patient-view" in p.off_at or p.snooze_days)
                else ""
            )
            lines.append(f"{family:<27}{off:<28}{window:<15}{snooze}{floor}")
        lines += ["", f"Safety floor, always shown at patient-view whatever the policy says: {FLOOR_TEXT}."]
        return "\n".join(lines)


def load(path: str | Path) -> CardPolicy:
    """Read and validate a policy file; raise PolicyError with one line naming the bad key."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path} is not valid TOML ({exc})") from None
    return parse(data, str(path))


def parse(data: dict[str, Any], source: str = "(policy)") -> CardPolicy:
    """A decoded TOML document -> CardPolicy; raise PolicyError naming the first bad key."""
    for key in data:
        if key not in ("defaults", "families"):
            raise PolicyError(f"{key}: unknown key (expected [defaults] and [families.<family>])")
    defaults = _family(FamilyPolicy(), _table(data, "defaults", ""), "defaults")
    families_table = _table(data, "families", "")
    for family in families_table:
        if family not in FAMILIES:
            raise PolicyError(f"families.{family}: unknown family (known: {', '.join(FAMILIES)})")
    families = {f: _family(defaults, _table(families_table, f, "families."), f"families.{f}") for f in FAMILIES}
    return CardPolicy(families, source)


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise PolicyError(f"{where}{key}: must be a table")
    return value


def _family(base: FamilyPolicy, table: dict[str, Any], where: str) -> FamilyPolicy:
    for key in table:
        if key not in _KEYS:
            raise PolicyError(f"{where}.{key}: unknown key (known: {', '.join(_KEYS)})")
    changes: dict[str, Any] = {}
    if "off_at" in table:
        hooks = table["off_at"]
        if not isinstance(hooks, list) or not all(isinstance(h, str) and h in HOOKS for h in hooks):
            raise PolicyError(f"{where}.off_at: must be a list of hooks among {', '.join(HOOKS)}")
        changes["off_at"] = frozenset(hooks)
    if "repeat_window_minutes" in table:
        changes["repeat_window_minutes"] = _int(
            table["repeat_window_minutes"], 0, MAX_WINDOW_MINUTES, f"{where}.repeat_window_minutes"
        )
    if "snooze_reasons" in table:
        reasons = table["snooze_reasons"]
        if not isinstance(reasons, list) or not reasons or not all(r in OVERRIDE_CODES for r in reasons):
            raise PolicyError(
                f"{where}.snooze_reasons: must be a non-empty list of override reasons among "
                f"{', '.join(OVERRIDE_CODES)}"
            )
        changes["snooze_reasons"] = frozenset(reasons)
    if "snooze_days" in table:
        changes["snooze_days"] = _int(table["snooze_days"], 1, MAX_SNOOZE_DAYS, f"{where}.snooze_days")
    result = replace(base, **changes)
    if bool(result.snooze_reasons) != bool(result.snooze_days):
        missing = "snooze_days" if result.snooze_reasons else "snooze_reasons"
        raise PolicyError(f"{where}.{missing}: snooze_reasons and snooze_days go together")
    return result


def _int(value: Any, low: int, high: int, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise PolicyError(f"{where}: must be a whole number from {low} to {high}")
    return value
