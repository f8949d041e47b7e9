"""Goods receipt pages (the same shape as delivery notes): the list with its filters and
CSV, the record page, company scope and constant query counts."""
from decimal import Decimal

from erp.services import purchasing as service
from tests.blueprints.test_purchasing import HX, po  # noqa: F401  (the fixture)
from tests.factories.catalog import WarehouseFactory

D = Decimal


def receive(po, quantities, warehouse=None):
    return service.receive(company_id=po.company.id, user=po.manager, order_id=po.order.id,
                           quantities=quantities, warehouse_id=(warehouse or po.main).id)


def test_the_list_and_the_record_page(client_as, po):
    spare = WarehouseFactory(company=po.company, code="SPARE")
    first = receive(po, {po.line1.id: "4"})
    second = receive(po, {po.line1.id: "1", po.line2.id: "5"}, warehouse=spare)
    client = client_as("viewer")

    def shown(query: str) -> set[str]:
        html = client.get(f"/purchasing/receipts?{query}").get_data(as_text=True)
        return {number for number in (first.number, second.number) if number in html}

    assert shown("") == {first.number, second.number}
    assert shown(f"warehouse={spare.id}") == {second.number}
    assert shown(f"number={first.number}") == {first.number}
    assert shown("date_from=2999-01-01") == set()
    assert shown("warehouse=x&date_to=nonsense") == {first.number, second.number}
    fragment = client.get("/purchasing/receipts", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and first.number in fragment
    csv = client.get("/purchasing/receipts?format=csv").get_data(as_text=True).splitlines()
    assert csv[0].lstrip("\ufeff").startswith("number,received_at,order,warehouse")
    assert len(csv) == 3
    page = client.get(f"/purchasing/receipts/{second.id}").get_data(as_text=True)
    assert second.number in page and po.order.number in page and "Acme Supplies" in page
    assert "BOLT" in page and "NUT" in page and "SPARE" in page
    order_page = client.get(f"/purchasing/orders/{po.order.id}").get_data(as_text=True)
    assert f'href="/purchasing/receipts/{first.id}"' in order_page


def test_another_companys_receipts_answer_404(po, other_company_client):
    receipt = receive(po, {po.line1.id: "1"})
    assert other_company_client.get(f"/purchasing/receipts/{receipt.id}").status_code == 404
    html = other_company_client.get("/purchasing/receipts").get_data(as_text=True)
    assert receipt.number not in html


def test_query_counts_are_constant(client_as, po, queries_for):
    client = client_as("viewer")
    receipt = receive(po, {po.line1.id: "1"})
    few = queries_for(client, "/purchasing/receipts?per_page=100")
    record = queries_for(client, f"/purchasing/receipts/{receipt.id}")
    for _ in range(4):
        receipt = receive(po, {po.line1.id: "1", po.line2.id: "1"})
    assert queries_for(client, "/purchasing/receipts?per_page=100") == few
    assert queries_for(client, f"/purchasing/receipts/{receipt.id}") == record
