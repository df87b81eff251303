"""The knowledge the rules apply, read from `fhir_profiles/` (FHIR ValueSets, CodeSystems, ConceptMaps,
PlanDefinitions, ActivityDefinitions): code normalisation, the frozen model, and its loading."""

from .codes import ICD10CM, RXNORM, Code, dotted_icd, normalise
from .manifest import Identity
from .model import DoseLimit, Knowledge, MmeFactor, Product, Topic, ValueSet
from .profiles import load, profiles_dir

__all__ = [
    "ICD10CM",
    "RXNORM",
    "Code",
    "DoseLimit",
    "Identity",
    "Knowledge",
    "MmeFactor",
    "Product",
    "Topic",
    "ValueSet",
    "dotted_icd",
    "load",
    "normalise",
    "profiles_dir",
]
