"""Purchasing models (filled in by the purchasing feature)."""
