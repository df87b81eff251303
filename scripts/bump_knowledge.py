"""Record a new knowledge version after fhir_profiles/ changed: bump the semantic version in
fhir_profiles/knowledge-version.json and record the digest of the artifacts as they are now.

    python scripts/bump_knowledge.py {major,minor,patch}   # after changing fhir_profiles/; then a CHANGELOG line
    python scripts/bump_knowledge.py --check               # exit 1 when the files differ from the recorded digest

major: a card may now fire where it did not, or not fire where it did, for the same chart (a rule's logic or a
threshold); minor: value sets or products widened or narrowed; patch: wording, metadata, no effect on which cards fire.
Each version gets an entry under "Knowledge" in CHANGELOG.md (tests/test_knowledge_version.py checks it is there).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cds_service.knowledge import manifest  # noqa: E402

PROFILES = ROOT / "fhir_profiles"


def bumped(version: str, part: str) -> str:
    major, minor, patch = (int(n) for n in version.split("."))
    if part == "major":
        return f"{major + 1}.0.0"
    return f"{major}.{minor + 1}.0" if part == "minor" else f"{major}.{minor}.{patch + 1}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", nargs="?", choices=("major", "minor", "patch"))
    parser.add_argument("--check", action="store_true", help="only compare the files with the recorded digest")
    parser.add_argument("--profiles", type=Path, default=PROFILES, help=argparse.SUPPRESS)  # tests: a copy
    args = parser.parse_args()
    recorded = manifest.recorded(args.profiles)
    now = manifest.digest(manifest.artifact_files(args.profiles))
    if args.check or args.part is None:
        if now != recorded.digest:
            print(
                f"fhir_profiles/ changed since knowledge {recorded.version}: run "
                "`python scripts/bump_knowledge.py {major,minor,patch}` and add a CHANGELOG entry",
                file=sys.stderr,
            )
            return 1
        print(f"knowledge {recorded.version} ({now}) is current")
        return 0
    if now == recorded.digest:
        print(f"fhir_profiles/ is unchanged since knowledge {recorded.version}: nothing to bump", file=sys.stderr)
        return 1
    version = bumped(recorded.version, args.part)
    (args.profiles / manifest.VERSION_FILE).write_text(
        json.dumps({"version": version, "digest": now}, indent=2) + "\n", encoding="utf-8"
    )
    print(f'knowledge {recorded.version} -> {version} ({now}); add it under "Knowledge" in CHANGELOG.md')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
