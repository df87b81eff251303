"""Code systems as we compare them: (system, code) pairs in one canonical spelling (HL7 OIDs and legacy URIs
mapped, ICD-10-CM without its dot)."""

from __future__ import annotations

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# Other spellings of the same code systems seen in EHR data (HL7 OIDs and legacy URIs).
SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "http://hl7.org/fhir/sid/icd-10-us": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.6.96": "http://snomed.info/sct",
    "urn:oid:2.16.840.1.113883.6.1": "http://loinc.org",
    "urn:oid:2.16.840.1.113883.6.12": "http://www.ama-assn.org/go/cpt",
}

Code = tuple[str, str]  # (system, code), normalised


def normalise(system: str | None, code: str | None) -> Code | None:
    """Return (system, code) in canonical form, or None when either is missing; ICD-10-CM loses its dot."""
    if not system or not code or not isinstance(system, str) or not isinstance(code, str):
        return None
    system = SYSTEM_ALIASES.get(system, system)
    code = code.strip()
    if system == ICD10CM:
        code = code.upper().replace(".", "")
    return system, code


def dotted_icd(code: str) -> str:
    """A normalised (dotless) ICD-10-CM code in its published form: the dot after the category."""
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code
