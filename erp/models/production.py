"""Production models (filled in by the production feature)."""
