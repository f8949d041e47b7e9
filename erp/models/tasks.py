"""Tasks models (filled in by the tasks feature)."""
