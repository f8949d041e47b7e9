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
from flask.globals import _cv_request
from flask_babel import Babel, LazyString, get_locale, get_translations
from flask_babel import gettext as babel_gettext
from flask_babel import ngettext as babel_ngettext
from jinja2 import pass_eval_context
from markupsafe import Markup, escape

# The languages with a catalog, by their code, in their own names (a language is chosen
# by a reader of that language).
LANGUAGES = {"en": "English", "tr": "Türkçe"}
DEFAULT_LANGUAGE = "en"

babel = Babel()

# The request's catalog and language, looked up once per request: Flask-Babel finds them
# through `g` and the locale on every call (six context lookups per text, 2-3 us), and a
# list page translates hundreds of texts (#17). Kept on the request context, so it never
# outlives the request; Flask-Babel keeps the same answer for the request (refresh_language
# forgets both).
_CATALOG = "_erp_catalog"


def _catalog() -> tuple | None:
    """(translations, language code) of the current request; None outside a request."""
    ctx = _cv_request.get(None)
    if ctx is None:
        return None
    memo = ctx.__dict__.get(_CATALOG)
    if memo is None:
        locale = get_locale()
        memo = (get_translations(),
                locale.language if locale is not None else DEFAULT_LANGUAGE)
        setattr(ctx, _CATALOG, memo)
    return memo


def translations():
    """The catalog texts are translated from (Flask-Babel's outside a request)."""
    memo = _catalog()
    return memo[0] if memo is not None else get_translations()


def gettext(string: str, **variables) -> str:
    """Flask-Babel's `gettext`, with the request's catalog looked up once per request."""
    memo = _catalog()
    if memo is None:
        return babel_gettext(string, **variables)
    text = memo[0].ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """Flask-Babel's `ngettext` (`num` is a variable of the text), the same way."""
    memo = _catalog()
    if memo is None:
        return babel_ngettext(singular, plural, num, **variables)
    variables.setdefault("num", num)
    return memo[0].ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    return LazyString(gettext, string, **variables)


_ = gettext
_l = lazy_gettext


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
    memo = _catalog()
    return memo[1] if memo is not None else DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_language,
                   default_translation_directories="translations",
                   default_domain="messages")
    app.jinja_env.globals["current_language"] = current_language
    # the templates' _() and ngettext() with the request's catalog looked up once
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
    # ... and called directly: Jinja's `_` calls `gettext` through the context, which
    # calls the function above through it again (three context calls per text)
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext,
                                 ngettext=template_ngettext)
    # a text kept as data and marked where it is declared (N_): `{{ link.label|translate }}`
    # (`_()` would %-format it: a label such as "Discount %" would break)
    app.jinja_env.filters["translate"] = lambda text: gettext(text) if text else text


@pass_eval_context
def template_gettext(eval_ctx, string: str, /, **variables) -> str:
    """Jinja's newstyle `_()` / `gettext()`: the text, escaped as Markup in an
    autoescaped template, always %-formatted with `variables` (escaped too)."""
    text = translations().ugettext(string)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


@pass_eval_context
def template_ngettext(eval_ctx, singular: str, plural: str, num: int, /, **variables) -> str:
    """Jinja's newstyle `ngettext()` (`num` is a variable of the text)."""
    variables.setdefault("num", num)
    text = translations().ungettext(singular, plural, num)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def refresh_language() -> None:
    """Forget the request's language after the user changed it (the next page is in the new
    one; Flask-Babel keeps the first answer for the request)."""
    from flask_babel import refresh

    refresh()
    ctx = _cv_request.get(None)
    if ctx is not None:
        ctx.__dict__.pop(_CATALOG, None)


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
