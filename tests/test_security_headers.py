"""Security headers on every page."""
import pytest

pytestmark = pytest.mark.dialect_independent  # same on every database: SQLite pass only


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "HttpOnly" in response.headers.get("Set-Cookie", "HttpOnly")


def test_templates_have_no_inline_script_or_style(app):
    import pathlib
    import re

    root = pathlib.Path(app.root_path) / "templates"
    offenders = []
    for path in root.rglob("*.html"):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or " style=" in text or "<style" in text:
            offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_static_urls_are_fingerprinted_and_cached_for_good(client):
    import re

    page = client.get("/login").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert urls and all("?v=" in url for url in urls)
    response = client.get(urls[0])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    plain = client.get(urls[0].split("?")[0])
    assert "immutable" not in plain.headers.get("Cache-Control", "")


def test_the_production_config_carries_every_header_and_forces_https(monkeypatch, tmp_path):
    from erp import create_app

    monkeypatch.setenv("ERP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 64)
    monkeypatch.setenv("ALLOWED_HOSTS", "erp.example.com")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
                      "CACHE_DIR": str(tmp_path / "cache")})
    client = app.test_client()
    plain = client.get("/login", base_url="http://erp.example.com")
    assert plain.status_code in (301, 302) and plain.headers["Location"].startswith("https://")
    # nginx terminates TLS and says so in X-Forwarded-Proto (one trusted proxy)
    response = client.get("/login", base_url="http://erp.example.com",
                          headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    headers = response.headers
    assert "max-age=" in headers["Strict-Transport-Security"]
    csp = headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'self'",
                      "form-action 'self'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Permissions-Policy" in headers
    cookie = headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # other host names are refused
    assert client.get("/login", base_url="https://evil.example.com").status_code == 400


# -- issue #24, finding 11: no caching of app pages, cross-origin isolation ----------------

def test_logged_in_pages_are_not_stored_by_browsers_or_proxies(client_as):
    client = client_as("admin")
    for url in ("/", "/catalog/products", "/admin/users"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
    fragment = client.get("/catalog/products", headers={"HX-Request": "true"})
    assert fragment.headers["Cache-Control"] == "no-store"


def test_the_login_page_and_errors_are_not_stored_either(client, client_as):
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    assert client_as("viewer").get("/no/such/page").headers["Cache-Control"] == "no-store"


def test_static_files_keep_their_own_caching(client):
    import re

    page = client.get("/login").get_data(as_text=True)
    url = re.findall(r'(?:src|href)="(/static/[^"]+\?v=[^"]+)"', page)[0]
    assert client.get(url).headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "no-store" not in client.get(url.split("?")[0]).headers.get("Cache-Control", "")


def test_every_response_carries_cross_origin_isolation_headers(client, client_as):
    responses = [client.get("/login"), client.get("/health"), client_as("staff").get("/"),
                 client.get("/static/css/app.css")]
    for response in responses:
        assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
