"""Custom forms: designer, filling, submissions."""
