"""Documents as PDF: a document's print page rendered by WeasyPrint.

The PDF is the print page's own template rendered with `pdf=True` (the flag hides the
screen-only toolbar and adds the PDF-only bits), so the two never say different things.
WeasyPrint reads only our static files (and `data:` URLs, e.g. an embedded logo): any other
address in a document is refused, so a document can never make the server fetch a URL.
Fonts come from Debian's packages through fontconfig (pdf.css names DejaVu Sans, which
has the Turkish letters); see scripts/ensure-system-packages.sh.
"""
from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable
from io import BytesIO
from urllib.parse import unquote, urlsplit

from flask import abort, current_app, render_template, request, send_file, url_for
from werkzeug.security import safe_join

# WeasyPrint loads Pango and friends through cffi when imported: import it on the first
# PDF, so that a host without them still serves every other page.
_weasyprint = None


def _library():
    """WeasyPrint; a host without its Debian libraries answers PDFs with a 503 (logged)."""
    global _weasyprint
    if _weasyprint is None:
        try:
            import weasyprint
        except (ImportError, OSError):  # OSError: cffi found no Pango
            current_app.logger.exception("PDF documents need WeasyPrint and Debian's Pango "
                                         "(scripts/ensure-system-packages.sh --runtime)")
            abort(503)
        _weasyprint = weasyprint
    return _weasyprint


def static_fetcher(static_folder: str, static_path: str):
    """A WeasyPrint URL fetcher that answers only `<static_path>/...` (from the files in
    `static_folder`, whatever the host) and `data:` URLs; anything else is refused."""
    weasyprint = _library()
    prefix = static_path.rstrip("/") + "/"

    class StaticFetcher(weasyprint.URLFetcher):
        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if parts.scheme == "data":
                return super().fetch(url, headers)  # inline bytes: nothing is fetched
            if parts.scheme in ("http", "https") and parts.path.startswith(prefix):
                path = safe_join(static_folder, unquote(parts.path[len(prefix):]))
                if path is not None and os.path.isfile(path):
                    with open(path, "rb") as file:
                        body = file.read()
                    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
                    return weasyprint.urls.URLFetcherResponse(
                        url, body, {"Content-Type": mime})
            raise ValueError(f"a PDF may only use the app's static files, not {url}")

    return StaticFetcher(allowed_protocols=("http", "https", "data"), allow_redirects=False)


def render_pdf(template: str, **context) -> bytes:
    """The PDF of `template` rendered with `pdf=True` (inside a request: the page's own
    `url_for` addresses are resolved against the app's root)."""
    weasyprint = _library()
    html = render_template(template, pdf=True, **context)
    # the static files' address as the page names them (with the script root, if any)
    fetcher = static_fetcher(current_app.static_folder, url_for("static", filename=""))
    return weasyprint.HTML(string=html, base_url=request.url_root,
                           url_fetcher=fetcher).write_pdf()


def pdf_response(template: str, *, filename: str, **context):
    """The PDF of a print page as a download named `filename`.pdf (e.g. the document number)."""
    pdf = render_pdf(template, **context)
    return send_file(BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=f"{filename}.pdf", max_age=0)


def register_printout(bp, name: str, url: str, template: str,
                      document: Callable[..., dict], number: Callable[[dict], str]) -> None:
    """A document's print page `<name>_print` (GET `<url>/print`) and its PDF `<name>_pdf`
    (GET `<url>/pdf`), both for a viewer and both from `template` with `document(**the
    URL's ids)`, so the two never say different things; the PDF is named `number(context)`
    (the document's number)."""
    from erp.auth import require_role
    from erp.web import render

    def print_page(**ids):
        return render(template, **document(**ids))

    def pdf(**ids):
        context = document(**ids)
        return pdf_response(template, filename=number(context), **context)

    for view, suffix in ((print_page, "print"), (pdf, "pdf")):
        view.__name__ = f"{name}_{suffix}"
        bp.add_url_rule(f"{url}/{suffix}", f"{name}_{suffix}", require_role("viewer")(view))
