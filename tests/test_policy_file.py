"""The card policy file a CDS committee edits: validated at start-up with one line naming the key, printed by
`backpain-cds policy check`, and the digest that decides whether a card's findings changed."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest

from cds_service.config import Settings
from cds_service.errors import ConfigError
from cds_service.policy import FAMILIES, PolicyError, load, parse
from cds_service.policy.decide import digest, without_drift
from cds_service.rules import FAMILIES as RULE_FAMILIES
from tests.served import executable

EXAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "card-policy.example.toml"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param("[familes.naloxone]\n", "familes", id="misspelt-top-level-table"),
        pytest.param("[families.opioid-benzo]\n", "families.opioid-benzo", id="unknown-family"),
        pytest.param("[families.naloxone]\nof_at = ['order-sign']\n", "families.naloxone.of_at", id="misspelt-key"),
        pytest.param("[families.naloxone]\noff_at = ['order-view']\n", "families.naloxone.off_at", id="not-a-hook"),
        pytest.param(
            "[families.naloxone]\noff_at = 'order-sign'\n", "families.naloxone.off_at", id="hook-not-in-a-list"
        ),
        pytest.param(
            "[defaults]\nrepeat_window_minutes = -5\n", "defaults.repeat_window_minutes", id="negative-window"
        ),
        pytest.param("[defaults]\nrepeat_window_minutes = 60.5\n", "defaults.repeat_window_minutes", id="fractional"),
        pytest.param("[defaults]\nrepeat_window_minutes = true\n", "defaults.repeat_window_minutes", id="boolean"),
        pytest.param(
            "[families.naloxone]\nsnooze_reasons = ['busy']\nsnooze_days = 3\n",
            "families.naloxone.snooze_reasons",
            id="override-reason-we-do-not-offer",
        ),
        pytest.param(
            "[families.naloxone]\nsnooze_reasons = ['patient-declined']\n",
            "families.naloxone.snooze_days",
            id="snooze-reasons-without-days",
        ),
        pytest.param(
            "[families.naloxone]\nsnooze_days = 3\n",
            "families.naloxone.snooze_reasons",
            id="snooze-days-without-reasons",
        ),
        pytest.param(
            "[families.naloxone]\nsnooze_reasons = ['patient-declined']\nsnooze_days = 400\n",
            "families.naloxone.snooze_days",
            id="snooze-over-a-year",
        ),
        pytest.param("families = 3\n", "families", id="families-not-a-table"),
    ],
)
def test_a_bad_policy_is_refused_with_one_line_naming_the_key(tmp_path, text, key):
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{key}: ") and "\n" not in str(caught.value)


def test_invalid_toml_is_refused_naming_the_file_and_the_line(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text("[families.naloxone\n")
    with pytest.raises(PolicyError, match=r"policy.toml is not valid TOML .*line 1"):
        load(path)


def test_the_service_refuses_to_start_on_a_bad_policy_naming_the_setting_and_the_key(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text("[families.naloxone]\noff_at = ['order-view']\n")
    with pytest.raises(ConfigError, match=r"BACKPAIN_CDS_CARD_POLICY=.* is invalid: families\.naloxone\.off_at: "):
        Settings.from_env({"BACKPAIN_CDS_CARD_POLICY": str(path)})
    served = subprocess.run(
        [executable(), "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"BACKPAIN_CDS_CARD_POLICY": str(path), "BACKPAIN_CDS_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert served.returncode == 2
    assert served.stderr.strip().count("\n") == 0 and "families.naloxone.off_at" in served.stderr


def test_a_short_or_missing_secret_file_is_refused(tmp_path):
    (tmp_path / "short").write_text("abc")
    with pytest.raises(ConfigError, match=r"BACKPAIN_CDS_POLICY_SECRET_FILE.*at least 32 bytes"):
        Settings.from_env({"BACKPAIN_CDS_POLICY_SECRET_FILE": str(tmp_path / "short")})
    with pytest.raises(ConfigError, match=r"BACKPAIN_CDS_POLICY_SECRET_FILE.*cannot read"):
        Settings.from_env({"BACKPAIN_CDS_POLICY_SECRET_FILE": str(tmp_path / "absent")})


def test_policy_check_prints_the_effective_policy_of_the_example_file():
    checked = subprocess.run(
        [executable(), "policy", "check", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert checked.returncode == 0, checked.stderr
    rows = {
        line.split()[0]: line for line in checked.stdout.splitlines() if line.split()[:1] in [[f] for f in FAMILIES]
    }
    assert rows.keys() == set(FAMILIES)
    assert "30 days on already-addressed, patient-declined" in rows["opioid-benzodiazepine"]
    assert "order-select" in rows["acetaminophen-alternative"] and "240 min" in rows["opioid-high-dose"]
    assert "60 min" in rows["red-flags"]
    assert "the floor still shows it at patient-view" in rows["opioid-benzodiazepine"]  # its snooze cannot there
    assert "Safety floor" in checked.stdout


def test_policy_check_refuses_a_bad_file_with_one_line(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text("[families.naloxone]\nsnooze_days = 3\n")
    checked = subprocess.run(
        [executable(), "policy", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert checked.returncode == 2
    assert checked.stderr == "error: families.naloxone.snooze_reasons: snooze_reasons and snooze_days go together\n"


def test_defaults_are_todays_behaviour_plus_the_hour_and_a_family_inherits_the_defaults():
    policy = parse({"defaults": {"repeat_window_minutes": 30}, "families": {"naloxone": {"off_at": ["order-sign"]}}})
    assert policy.of("naloxone").repeat_window_minutes == 30 and policy.of("naloxone").off_at == {"order-sign"}
    built_in = parse({})
    assert all(p.repeat_window_minutes == 60 and not p.off_at and not p.snooze_days for p in built_in.families.values())
    assert set(FAMILIES) == {family.TOPIC for family in RULE_FAMILIES}


DETAIL = "Opioid: oxycodone 5 MG (last ordered 2025-10-23, 13 months ago: still taking it?).\nBenzodiazepine: x."


@pytest.mark.parametrize(
    ("changed", "same"),
    [
        pytest.param(
            ("opioid-benzodiazepine", "critical", "s", DETAIL.replace("13 months", "14 months"), 30.0),
            True,
            id="a-month-later-the-wording-drifts-the-findings-do-not",
        ),
        pytest.param(
            ("opioid-benzodiazepine", "critical", "s", DETAIL.replace("13 months ago", "today"), 30.0),
            True,
            id="today-is-wording",
        ),
        pytest.param(
            ("opioid-benzodiazepine", "critical", "s", DETAIL + "\nBenzodiazepine: lorazepam", 30.0),
            False,
            id="a-new-drug-is-a-change",
        ),
        pytest.param(("opioid-benzodiazepine", "critical", "s", DETAIL, 90.0), False, id="a-higher-dose-is-a-change"),
        pytest.param(("opioid-benzodiazepine", "warning", "s", DETAIL, 30.0), False, id="another-tier-is-a-change"),
        pytest.param(("naloxone", "critical", "s", DETAIL, 30.0), False, id="another-family-is-another-card"),
        pytest.param(
            ("opioid-benzodiazepine", "critical", "s", DETAIL.replace("2025-10-23", "2025-11-23"), 30.0),
            False,
            id="a-new-order-date-is-a-change",
        ),
    ],
)
def test_the_digest_keeps_the_findings_and_drops_the_clock(changed, same):
    assert (digest(*changed) == digest("opioid-benzodiazepine", "critical", "s", DETAIL, 30.0)) is same


# What the digest leaves out, as the plain pattern says it; `without_drift` finds it faster and must find the same.
PLAIN_DRIFT = re.compile(r"\b\d+ (?:day|week|month|year)s? ago\b|\btoday\b")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("last ordered 2017-07-22, 9 years ago: still taking it?", "last ordered 2017-07-22, : still taking it?"),
        ("since 2022-05-28 (4 years ago)", "since 2022-05-28 ()"),
        ("(1 week ago)", "()"),
        ("seen today.", "seen ."),
        ("1 day ago today", " "),
        ("\u0663 days ago", ""),  # any Unicode digit, as \d matches
        ("x3 days ago", "x3 days ago"),  # a number glued to a word is not a duration
        ("3 days agox", "3 days agox"),
        ("1_day ago", "1_day ago"),
        ("3 dayss ago", "3 dayss ago"),
        ("12 years  ago", "12 years  ago"),
        ("2 fortnights ago", "2 fortnights ago"),
        ("todays list", "todays list"),
        ("xtoday", "xtoday"),
        ("_today", "_today"),
        ("Today", "Today"),  # the cards write it in lower case
        ("ago", "ago"),
    ],
)
def test_only_whole_relative_durations_are_dropped(text, kept):
    assert without_drift(text) == PLAIN_DRIFT.sub("", text) == kept


def test_drift_is_found_as_the_plain_pattern_finds_it_in_any_text():
    pieces = ["1", "23", "\u0663", " ", "day", "days", "weeks", "month", "year", "s", " ago", "ago", "ago ", "today",
              "t", "oday", "x", "_", "é", "\n", "(", ")", ":", "2 days ago", "today "]  # fmt: skip
    rng = random.Random(20261204)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 16)))
        assert without_drift(text) == PLAIN_DRIFT.sub("", text), text


def test_a_digest_stored_by_an_earlier_version_still_matches():
    """The repeat and snooze memory outlives an upgrade: the same card must hash as it did when it was stored."""
    found = digest("opioid-benzodiazepine", "critical", "s today", DETAIL, 30.0)
    assert found == "c93e49257af4ec5e09799c104a21ba9a"
