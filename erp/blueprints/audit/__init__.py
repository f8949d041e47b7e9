"""The audit trail, record history panels, and CSV import/export of master data."""
