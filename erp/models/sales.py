"""Sales models (filled in by the sales feature)."""
