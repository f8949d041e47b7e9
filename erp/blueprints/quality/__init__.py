"""Quality inspections."""
