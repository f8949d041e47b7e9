"""Quality models (filled in by the quality feature)."""
