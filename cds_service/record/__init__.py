"""The `PatientRecord` and the builder that selects and parses what the rules read. No I/O, like `rules/`."""
