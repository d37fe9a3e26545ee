"""Provincial carbon-intensity assessment: ingest -> validate -> compute -> assess -> publish."""

__version__ = "0.1.0"
