"""Security headers on every page."""


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
