"""Languages: which one a request is answered in, and the locale formats that follow it.

The language of a request is the user's own setting, else their company's default; before
login (the login page, error pages) the browser's Accept-Language picks among the
languages we have catalogs for. Texts go through gettext (Flask-Babel: `_()` in Python and
templates, `_l()` for texts defined at import time such as form labels); the catalogs are
`erp/translations/<language>/LC_MESSAGES/messages.po`, compiled to `.mo` by `make
translations` (which `make run` and `make test` call). English is the source language.
"""
from __future__ import annotations

from flask import Flask, has_request_context, request
from flask_babel import Babel, LazyString, get_locale, gettext, lazy_gettext, ngettext  # noqa: F401
from markupsafe import escape

# The languages with a catalog, by their code, in their own names (a language is chosen
# by a reader of that language).
LANGUAGES = {"en": "English", "tr": "Türkçe"}
DEFAULT_LANGUAGE = "en"

_ = gettext
_l = lazy_gettext

babel = Babel()


def N_(text: str) -> str:
    """Marks a text for the catalogs where it is defined as data (a navigation label, a
    state's name); the page translates it when it shows it (`_(link.label)`)."""
    return text


# Texts stored as data and shown translated: the roles.
DATA_TEXTS = (N_("viewer"), N_("staff"), N_("manager"), N_("admin"))


def language_choices() -> list[tuple[str, str]]:
    return list(LANGUAGES.items())


def valid_language(code: str | None) -> str | None:
    return code if code in LANGUAGES else None


def select_language() -> str:
    """The language of this request (see the module's docstring)."""
    from flask_login import current_user

    if has_request_context():
        if current_user and current_user.is_authenticated:
            chosen = valid_language(current_user.language) or valid_language(
                current_user.company.default_language)
            if chosen:
                return chosen
        return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def current_language() -> str:
    """The request's language code ("en" outside a request)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_language,
                   default_translation_directories="translations",
                   default_domain="messages")
    app.jinja_env.globals["current_language"] = current_language
    # a text kept as data and marked where it is declared (N_): `{{ link.label|translate }}`
    # (`_()` would %-format it: a label such as "Discount %" would break)
    app.jinja_env.filters["translate"] = lambda text: gettext(text) if text else text


def refresh_language() -> None:
    """Forget the request's language after the user changed it (the next page is in the new
    one; Flask-Babel keeps the first answer for the request)."""
    from flask_babel import refresh

    refresh()


class LazyLabel(LazyString):
    """A label translated when it is shown, and escaped there like any text: flask_babel's
    LazyString passes through Jinja unescaped (its `__html__`), which is safe for a
    constant message but not for a label that may be a record's name."""

    def __html__(self) -> str:
        return str(escape(str(self)))


def lazy_label(text: str) -> LazyLabel:
    """`text` in the reader's language when shown: marked texts (`N_`) are translated, any
    other text (a record's name) shows as it is."""
    return LazyLabel(gettext, text)


def translated(pairs) -> list[tuple[str, object]]:
    """(value, label) choices whose labels are marked texts (`N_`), each label translated
    when shown (lazily: choices are often built at import time)."""
    return [(value, lazy_label(label)) for value, label in pairs]
