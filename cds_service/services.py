"""One declaration per CDS service: id, hook, title, prefetch templates; discovery is derived from these."""

from __future__ import annotations

from dataclasses import dataclass

from .cards import EXT_KNOWLEDGE
from .errors import UnknownService
from .knowledge import Knowledge
from .knowledge.manifest import service_version

SPEC_VERSION = "2.0.1"
HOOK_VERSION = "1.0"
# Discovery names this service's release and the knowledge it applies (CDS Hooks `extension`, keys ours): a card's
# own provenance extension names the same knowledge, so an EHR can tell which release issued it.
EXT_SERVICE_VERSION = "org.backpain-cds.service-version"

# Observation codes the rules read (fever, kidney and liver labs, pregnancy, PHQ): narrowing the search lets
# the EHR send a few dozen Observations instead of every lab and vital sign on record.
OBSERVATION_VALUE_SETS = ("body-temperature", "egfr", "alt", "pregnancy-status", "hcg-test", "phq9", "phq2")


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str]

    def discovery(self) -> dict[str, object]:
        return {
            "id": self.id,
            "hook": self.hook,
            "title": self.title,
            "description": self.description,
            "prefetch": self.prefetch,
            "version": SPEC_VERSION,
            "hookVersion": HOOK_VERSION,
            "usageRequirements": "Needs the patient's Conditions, Observations, medications, allergies, "
            "ServiceRequests, Procedures, DiagnosticReports and ImagingStudies "
            "(prefetch, or fhirServer with a bearer token).",
        }


def prefetch_templates(knowledge: Knowledge) -> dict[str, str]:
    """Return key -> template for every resource type a rule reads (CDS Hooks 2.0 tokens, patient-scoped)."""
    patient = "{{context.patientId}}"
    codes = sorted(
        {f"{system}|{code}" for name in OBSERVATION_VALUE_SETS for system, code in knowledge.vs(name).include.exact}
    )
    return {
        "patient": f"Patient/{patient}",
        "conditions": f"Condition?patient={patient}",
        "observations": f"Observation?patient={patient}&code={','.join(codes)}&_sort=-date",
        "medicationRequests": f"MedicationRequest?patient={patient}",
        "medicationStatements": f"MedicationStatement?patient={patient}",
        "allergies": f"AllergyIntolerance?patient={patient}",
        "serviceRequests": f"ServiceRequest?patient={patient}",
        "procedures": f"Procedure?patient={patient}",
        "diagnosticReports": f"DiagnosticReport?patient={patient}",
        "imagingStudies": f"ImagingStudy?patient={patient}",
    }


class Registry:
    """The services this deployment offers, looked up by id."""

    def __init__(self, knowledge: Knowledge) -> None:
        prefetch = prefetch_templates(knowledge)
        self.extension = {EXT_SERVICE_VERSION: service_version(), EXT_KNOWLEDGE: knowledge.identity.as_json()}
        self.services = (
            Service(
                "backpain-patient-view",
                "patient-view",
                "Low back pain guidance",
                "Red flags, first-line treatment, opioid safety and imaging advice for adults with low back "
                "pain, from the ACP 2017 and CDC 2022 guidelines.",
                prefetch,
            ),
            Service(
                "backpain-order-select",
                "order-select",
                "Low back pain order check (selection)",
                "Checks lumbar imaging and pain prescriptions as they are chosen: imaging in the first six "
                "weeks, opioid dose and co-prescribing, NSAID contraindications, treatments not recommended.",
                prefetch,
            ),
            Service(
                "backpain-order-sign",
                "order-sign",
                "Low back pain order check (signing)",
                "Final check of all draft orders before signing against the low back pain guideline.",
                prefetch,
            ),
        )
        self._by_id = {s.id: s for s in self.services}
        self.ids = frozenset(self._by_id)

    def get(self, service_id: str) -> Service:
        """Return the service; raise UnknownService for an id we do not offer."""
        try:
            return self._by_id[service_id]
        except KeyError:
            raise UnknownService(f"no CDS service with id {service_id!r}", service=service_id) from None

    def discovery(self) -> dict[str, object]:
        return {"services": [s.discovery() | {"extension": self.extension} for s in self.services]}
