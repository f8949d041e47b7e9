"""Reads of the quality pages: the inspection list as a declaration."""
from __future__ import annotations

from sqlalchemy.orm import aliased, joinedload

from erp.lists import Csv, ListSpec, attrs, choice_filter, contains, date_range, product_filter
from erp.models import Product
from erp.models.production import ProductionOrder
from erp.models.quality import RESULTS, QualityInspection


def _inspections_csv() -> Csv:
    product, order = aliased(Product), aliased(ProductionOrder)
    return Csv("inspections", [
        *attrs(QualityInspection, "id", "inspected_on"),
        ("sku", product.sku), ("product", product.name), ("production_order", order.number),
        *attrs(QualityInspection, "receipt_reference", "result"),
        ("inspector", QualityInspection.inspector_name), ("notes", QualityInspection.notes)],
        joins=[(product, product.id == QualityInspection.product_id),
               (order, order.id == QualityInspection.production_order_id)])


INSPECTIONS = ListSpec(
    model=QualityInspection,
    sorts={"date": QualityInspection.inspected_on, "result": QualityInspection.result},
    default_sort="-date",
    stable_desc=True,
    search=contains(QualityInspection.notes, QualityInspection.receipt_reference,
                    QualityInspection.inspector_name),
    filters=[choice_filter("result", QualityInspection.result, RESULTS),
             product_filter("product", QualityInspection.product_id),
             *date_range(QualityInspection.inspected_on, ("from", "to"))],
    csv=_inspections_csv(),
    options=[joinedload(QualityInspection.product),
             joinedload(QualityInspection.production_order),
             joinedload(QualityInspection.superseded_by)],
)
