"""Everything that talks to or reads FHIR: the allowlist, bounded HTTP fetches, the FHIR client, prefetch
resolution and lenient parsing with fhir.resources. The only folder that sends requests to a FHIR server."""
