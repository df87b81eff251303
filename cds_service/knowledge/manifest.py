"""The knowledge manifest: one version for `fhir_profiles/` as a whole (a semantic version recorded in
`fhir_profiles/knowledge-version.json`, and a SHA-256 content digest of the artifacts), and every artifact with its
canonical url and version; value sets and concept maps also name the published sources they were built from.

The digest covers each artifact file (`<ResourceType>/<id>.json`) by its relative path and bytes, in path order, so
the source tree and the installed wheel (which carries the same files inside the package) give the same digest.
The version file itself is not covered: it records the digest of the version it names, which a test compares with
the files (`scripts/bump_knowledge.py` bumps both).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from mypy_extensions import mypyc_attr

from ..citations import computed

VERSION_FILE = "knowledge-version.json"
DRAWN_FROM = "https://backpain-cds.org/fhir/StructureDefinition/drawn-from"
DRAWN_FROM_EXPANSION = "https://backpain-cds.org/fhir/StructureDefinition/drawn-from-expansion"
KINDS = ("PlanDefinition", "ValueSet", "CodeSystem", "ConceptMap", "ActivityDefinition")


# Card extensions naming what produced a card (cards.py; `source.url` is a page for the user, so the rule goes here):
EXT_RULE = "org.backpain-cds.rule"  # canonical url|version of the PlanDefinition that produced the card
EXT_KNOWLEDGE = "org.backpain-cds.knowledge"  # {"version", "digest"} of fhir_profiles/ (`Identity.json`)


@mypyc_attr(native_class=False)  # compiled, still keeps a __dict__ for `computed`
@dataclass(frozen=True)
class Identity:
    """Which knowledge this is: its semantic version and the digest of its files."""

    version: str
    digest: str  # "sha256:<hex>"

    def as_json(self) -> dict[str, str]:
        return {"version": self.version, "digest": self.digest}

    @computed
    def json(self) -> dict[str, str]:
        """`as_json()` made once and shared by every card that names this knowledge: read it, never change it."""
        return self.as_json()


def service_version() -> str:
    """The installed distribution's version (pyproject.toml), or "unknown" when run from an uninstalled tree."""
    from importlib import metadata  # only discovery, /openapi.json and the CLI ask: a 15-50 ms import kept off load()

    try:
        return metadata.version("backpain-cds")
    except metadata.PackageNotFoundError:
        return "unknown"


def artifact_files(root: Path) -> list[tuple[str, bytes]]:
    """(relative posix path, bytes) of every artifact under `root`, in path order."""
    return [(path.relative_to(root).as_posix(), path.read_bytes()) for path in sorted(root.glob("*/*.json"))]


def digest(files: list[tuple[str, bytes]]) -> str:
    """SHA-256 over each file's relative path, length and bytes, in the order given (path order)."""
    h = hashlib.sha256()
    for rel, data in files:
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return "sha256:" + h.hexdigest()


def recorded(root: Path) -> Identity:
    """The version and digest `knowledge-version.json` records."""
    data = orjson.loads((root / VERSION_FILE).read_bytes())
    return Identity(data["version"], data["digest"])


def identity(root: Path, files: list[tuple[str, bytes]] | None = None) -> Identity:
    """The recorded version with the digest of the files as they are (which differs from the recorded one only
    when someone changed the files without a bump: then cards name a digest no release has)."""
    return Identity(recorded(root).version, digest(artifact_files(root) if files is None else files))


def sources(resource: dict[str, Any]) -> list[dict[str, str]]:
    """The published sources a ValueSet's include parts or a ConceptMap's groups say they were drawn from:
    url, version (when the source is versioned) and expansion date, each source once."""
    parts = resource.get("compose", {}).get("include", []) + resource.get("group", [])
    found: dict[str, dict[str, str]] = {}
    for part in parts:
        ext = {e.get("url"): e for e in part.get("extension", [])}
        canonical = ext.get(DRAWN_FROM, {}).get("valueCanonical")
        if not canonical or canonical in found:
            continue
        url, _, version = canonical.partition("|")
        entry = {"url": url} | ({"version": version} if version else {})
        expanded = ext.get(DRAWN_FROM_EXPANSION, {}).get("valueDateTime")
        found[canonical] = entry | ({"expansion": expanded} if expanded else {})
    return list(found.values())


def manifest(root: Path) -> dict[str, Any]:
    """Service and knowledge versions, and every artifact: type, id, url, version, title, sources."""
    files = artifact_files(root)
    artifacts = []
    for rel, data in files:
        resource = orjson.loads(data)
        if resource.get("resourceType") not in KINDS:
            continue
        entry = {
            "resourceType": resource["resourceType"],
            "id": resource.get("id"),
            "url": resource.get("url"),
            "version": resource.get("version"),
            "title": resource.get("title") or resource.get("name"),
            "canonical": f"{resource.get('url')}|{resource.get('version')}",
            "file": rel,
        }
        if found := sources(resource):
            entry["sources"] = found
        artifacts.append(entry)
    artifacts.sort(key=lambda a: (KINDS.index(a["resourceType"]), a["id"] or ""))
    return {
        "service": {"name": "backpain-cds", "version": service_version()},
        "knowledge": identity(root, files).as_json(),
        "artifacts": artifacts,
    }


def as_text(doc: dict[str, Any]) -> str:
    """The manifest as a reviewer reads it: versions first, then each artifact's canonical and its sources."""
    knowledge = doc["knowledge"]
    lines = [f"backpain-cds {doc['service']['version']}", f"knowledge {knowledge['version']} ({knowledge['digest']})"]
    for kind in KINDS:
        of_kind = [a for a in doc["artifacts"] if a["resourceType"] == kind]
        if not of_kind:
            continue
        lines += ["", f"{kind} ({len(of_kind)})"]
        for artifact in of_kind:
            lines.append(f"  {artifact['canonical']}")
            for source in artifact.get("sources", ()):
                version = f"|{source['version']}" if "version" in source else ""
                expanded = f" (expansion {source['expansion']})" if "expansion" in source else ""
                lines.append(f"      from {source['url']}{version}{expanded}")
    return "\n".join(lines)
