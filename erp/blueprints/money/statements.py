"""A party's statement page, print page and PDF (erp.queries.receivables.statement), one
set of views registered for each side: the customer's under /sales/customers/<id>, the
supplier's under /catalog/suppliers/<id>."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from erp.auth import require_role
from erp.models.sales import Seller
from erp.pdf import register_printout
from erp.queries import receivables as receivables_queries
from erp.queries import scoped_get_or_404
from erp.web import render


def register_statement(bp, side: receivables_queries.StatementSide, url: str) -> None:
    """`<who>_statement` (GET `url`, `url` naming `<int:<who>_id>`) with its print page and
    PDF (`<who>_statement_print`, `_pdf`): the party's entries of the period in the query
    string (`start`, `end`: ISO dates; by default the last 90 days in the company's time
    zone), with a running balance. Viewer; another company's party answers 404."""
    who = side.who

    def context(**ids) -> dict:
        party = scoped_get_or_404(side.party, ids[f"{who}_id"])
        company = current_user.company
        start, end, problem = receivables_queries.statement_period(
            company, request.args.get("start", "")[:20], request.args.get("end", "")[:20])
        return {"party": party, who: party, "side": side, "problem": problem,
                "seller": Seller.of(company),
                "statement": receivables_queries.statement(side, company, party, start, end)}

    def page(**ids):
        return render("money/statement.html", **context(**ids))

    page.__name__ = f"{who}_statement"
    page.__doc__ = (f"Every document and payment of a {who} over a period, with a running "
                    f"balance; its print page and PDF are `{who}_statement_print` / `_pdf`.")
    bp.add_url_rule(url, page.__name__, require_role("viewer")(page))
    register_printout(bp, page.__name__, url, "money/statement_print.html", context,
                      lambda document: "statement-{}-{}".format(
                          document["party"].id, document["statement"].end.isoformat()))
