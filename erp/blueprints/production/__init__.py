"""Production: employees, bills of materials, production orders, work orders."""
