"""Every blueprint of the app, in registration order."""
from erp.blueprints.admin.views import bp as admin_bp
from erp.blueprints.auth.views import bp as auth_bp
from erp.blueprints.health.views import bp as health_bp
from erp.blueprints.main.views import bp as main_bp

BLUEPRINTS = [auth_bp, main_bp, admin_bp, health_bp]
