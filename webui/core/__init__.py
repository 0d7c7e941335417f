"""The foundation every other layer stands on: parsers, the settings catalog and store,
the per-worker cache keyed by the settings version, the audit writer, sealed secrets."""
