"""Tasks: my tasks, all tasks, status changed in place."""
