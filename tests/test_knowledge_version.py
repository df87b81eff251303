"""The knowledge has one version: a change to fhir_profiles/ without a version bump fails here, the bump is in the
CHANGELOG, the wheel's knowledge digests like the source tree's, and `backpain-cds knowledge` prints the manifest."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cds_service.knowledge import load, manifest

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "fhir_profiles"
BUMP = ROOT / "scripts" / "bump_knowledge.py"


def bump(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BUMP), *args], capture_output=True, text=True, timeout=60)


def test_fhir_profiles_are_the_files_of_the_recorded_knowledge_version():
    done = bump("--check")
    assert done.returncode == 0, done.stderr  # changed fhir_profiles/? run scripts/bump_knowledge.py


def test_a_value_set_changed_without_a_bump_fails_the_check_and_the_bump_records_a_new_version(tmp_path):
    copy = tmp_path / "fhir_profiles"
    shutil.copytree(PROFILES, copy)
    path = copy / "ValueSet" / "depression.json"
    vs = json.loads(path.read_text())
    vs["compose"]["include"][0]["concept"].append({"code": "F32.A", "display": "Depression, unspecified"})
    path.write_text(json.dumps(vs, indent=2) + "\n")
    before = manifest.recorded(copy)

    unbumped = bump("--check", "--profiles", str(copy))
    assert unbumped.returncode == 1 and "bump_knowledge.py" in unbumped.stderr

    assert bump("minor", "--profiles", str(copy)).returncode == 0
    after = manifest.recorded(copy)
    major, minor, _ = before.version.split(".")
    assert after.version == f"{major}.{int(minor) + 1}.0" and after.digest != before.digest
    assert bump("--check", "--profiles", str(copy)).returncode == 0


def test_a_bump_with_nothing_changed_is_refused(tmp_path):
    copy = tmp_path / "fhir_profiles"
    shutil.copytree(PROFILES, copy)
    assert bump("patch", "--profiles", str(copy)).returncode == 1
    assert manifest.recorded(copy) == manifest.recorded(PROFILES)


def test_the_changelog_has_a_knowledge_entry_for_the_current_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    section = re.search(r"^## Knowledge\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, "CHANGELOG.md has no '## Knowledge' section"
    assert f"### [{manifest.recorded(PROFILES).version}]" in section.group(1)


def test_the_loaded_knowledge_digests_like_the_source_tree():
    """Under scripts/test the package is installed as a wheel: its fhir_profiles/ must give the same digest."""
    kb = load()
    assert kb.identity == manifest.Identity(
        manifest.recorded(PROFILES).version, manifest.digest(manifest.artifact_files(PROFILES))
    )
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", kb.identity.digest)


def test_every_card_topic_names_its_plan_definition_canonical():
    kb = load()
    for code, topic in kb.topics.items():
        plan = json.loads((PROFILES / "PlanDefinition" / f"{code}.json").read_text())
        assert topic.rule == f"{plan['url']}|{plan['version']}"


def test_the_knowledge_command_prints_the_manifest_as_json_and_text():
    run = subprocess.run(["backpain-cds", "knowledge", "--json"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["knowledge"] == load().identity.as_json()
    by_id = {(a["resourceType"], a["id"]): a for a in doc["artifacts"]}
    kinds = {kind for kind, _ in by_id}
    assert kinds == {"PlanDefinition", "ValueSet", "CodeSystem", "ConceptMap", "ActivityDefinition"}
    assert (
        by_id[("PlanDefinition", "red-flags")]["canonical"]
        == "https://backpain-cds.org/fhir/PlanDefinition/red-flags|1.0.0"
    )
    anticoagulants = by_id[("ValueSet", "anticoagulants")]
    assert anticoagulants["sources"] == [
        {
            "url": "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113762.1.4.1248.22",
            "version": "20220608",
            "expansion": "2025-01-10T13:55:11-07:00",
        }
    ]
    assert all(a["url"] and a["version"] for a in doc["artifacts"])
    text = subprocess.run(["backpain-cds", "knowledge"], capture_output=True, text=True, timeout=60).stdout
    assert f"knowledge {doc['knowledge']['version']} ({doc['knowledge']['digest']})" in text
    assert "https://backpain-cds.org/fhir/ValueSet/anticoagulants|1.0.0\n      from http://cts.nlm.nih.gov" in text
