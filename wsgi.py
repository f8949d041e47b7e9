"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from erp import create_app

app = create_app()
