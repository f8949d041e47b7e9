"""Demo catalog: categories, suppliers and about 200 products of every kind.

Raw materials and components are the ones production's bills of materials use; finished
goods are sold; a few services carry no stock. Deterministic and idempotent.
"""
from __future__ import annotations

import random
import sys
from decimal import Decimal

from sqlalchemy import select

from erp.extensions import db
from erp.models import Company, Product, User
from erp.seeds.turkish import slug, words
from erp.services import atomic, catalog

# Flat on purpose: the SQLite test clean-up deletes all categories in one statement, and a
# RESTRICT self-reference (parent_id) refuses that while a child row exists.
CATEGORIES = [("Metals", None), ("Plastics", None), ("Wood", None), ("Textiles", None),
              ("Fasteners", None), ("Electronics", None), ("Hardware", None),
              ("Office furniture", None), ("Lighting", None), ("Storage", None),
              ("Services", None)]

SUPPLIERS = [
    ("Nordic Steel AB", "Lena Berg", "Industrivägen 4, Gothenburg"),
    ("Polymer Works GmbH", "Jonas Keller", "Chemiestraße 12, Ludwigshafen"),
    ("Oakline Timber Ltd", "Sarah Oakes", "Mill Lane 3, Hereford"),
    ("Fastenright Inc.", "Tom Nguyen", "200 Bolt Ave, Cleveland"),
    ("Voltix Electronics", "Mei Chen", "88 Circuit Rd, Shenzhen"),
    ("Textura Fabrics", "Giulia Rossi", "Via Tessitori 9, Prato"),
    ("Hinge & Handle Co.", "Pieter de Vries", "Scharnierstraat 5, Eindhoven"),
    ("Brightway Lighting", "Anna Kowalska", "ul. Świetlna 7, Kraków"),
    ("Global Packaging SA", "Luc Martin", "Rue du Carton 15, Lyon"),
    ("Iberia Metals SL", "Carlos Ruiz", "Calle Acero 22, Bilbao"),
    ("QuickShip Logistics", "Ola Hansen", "Havnegata 1, Oslo"),
    ("Precision Parts Kft.", "Zoltán Nagy", "Gyár utca 30, Győr"),
]

RAW = [  # (name, unit, cost, category, supplier index)
    ("Steel sheet {} mm", "m2", "18.50", "Metals", 0, ["1", "1.5", "2", "3", "4"]),
    ("Aluminium profile {}", "m", "6.20", "Metals", 9, ["20x20", "30x30", "40x40", "20x40"]),
    ("Steel tube {} mm", "m", "4.80", "Metals", 0, ["16", "20", "25", "32"]),
    ("ABS granulate {}", "kg", "2.10", "Plastics", 1, ["black", "white", "grey"]),
    ("Polycarbonate sheet {} mm", "m2", "24.00", "Plastics", 1, ["2", "3", "5"]),
    ("Oak board {} mm", "m2", "42.00", "Wood", 2, ["18", "22", "28"]),
    ("Birch plywood {} mm", "m2", "19.00", "Wood", 2, ["12", "15", "18"]),
    ("MDF panel {} mm", "m2", "8.50", "Wood", 2, ["16", "19"]),
    ("Upholstery fabric {}", "m", "12.00", "Textiles", 5, ["anthracite", "blue", "green", "sand"]),
    ("Foam block {} kg/m3", "m3", "95.00", "Textiles", 5, ["30", "40"]),
    ("Powder coating {}", "kg", "9.40", "Metals", 9, ["RAL 9005", "RAL 9016", "RAL 7035"]),
    ("Wood oil {}", "l", "14.00", "Wood", 2, ["natural", "white"]),
]

COMPONENTS = [
    ("Bolt M{} x 30", "pcs", "0.12", "Fasteners", 3, ["5", "6", "8", "10"]),
    ("Nut M{}", "pcs", "0.04", "Fasteners", 3, ["5", "6", "8", "10"]),
    ("Wood screw 4 x {}", "pcs", "0.03", "Fasteners", 3, ["20", "30", "40", "50"]),
    ("Washer M{}", "pcs", "0.02", "Fasteners", 3, ["6", "8", "10"]),
    ("Castor wheel {} mm", "pcs", "2.40", "Hardware", 6, ["50", "65", "75"]),
    ("Gas lift {} mm", "pcs", "7.90", "Hardware", 6, ["100", "120", "150"]),
    ("Drawer slide {} mm", "pcs", "5.60", "Hardware", 6, ["300", "400", "500"]),
    ("Hinge {}", "pcs", "1.80", "Hardware", 6, ["35 mm cup", "soft close", "piano 1 m"]),
    ("Handle {}", "pcs", "2.20", "Hardware", 6, ["bar 128", "bar 160", "knob"]),
    ("LED module {} W", "pcs", "3.50", "Electronics", 4, ["3", "5", "10", "15"]),
    ("LED driver {} W", "pcs", "6.80", "Electronics", 4, ["12", "24", "36"]),
    ("Power cable {} m", "pcs", "1.90", "Electronics", 4, ["1.5", "2", "3"]),
    ("Switch {}", "pcs", "0.95", "Electronics", 4, ["inline", "touch", "dimmer"]),
    ("Chair base {}", "pcs", "14.00", "Hardware", 11, ["nylon", "aluminium"]),
    ("Desk frame {}", "pcs", "65.00", "Hardware", 11, ["fixed", "electric"]),
    ("Packaging box {}", "pcs", "1.10", "Hardware", 8, ["S", "M", "L", "XL"]),
]

FINISHED = [
    ("Office chair {}", "pcs", "189.00", "Office furniture", ["Basic", "Comfort", "Executive", "Mesh", "Task"]),
    ("Desk {}", "pcs", "349.00", "Office furniture", ["120x60", "140x70", "160x80", "180x80", "corner"]),
    ("Standing desk {}", "pcs", "599.00", "Office furniture", ["140", "160", "180"]),
    ("Meeting table {}", "pcs", "799.00", "Office furniture", ["round", "oval", "rectangular"]),
    ("Desk lamp {}", "pcs", "59.00", "Lighting", ["Arc", "Clamp", "Mini", "Studio"]),
    ("Floor lamp {}", "pcs", "129.00", "Lighting", ["Arc", "Tripod", "Column"]),
    ("Pendant light {}", "pcs", "89.00", "Lighting", ["Dome", "Linear 120", "Linear 150"]),
    ("Bookshelf {}", "pcs", "219.00", "Storage", ["3 shelves", "5 shelves", "wide", "narrow"]),
    ("Drawer cabinet {}", "pcs", "249.00", "Storage", ["3 drawers", "4 drawers", "mobile"]),
    ("Wardrobe {}", "pcs", "499.00", "Storage", ["single", "double"]),
    ("Sideboard {}", "pcs", "399.00", "Storage", ["oak", "white", "black"]),
]
FINISHES = ["oak", "black", "white", "grey"]

SERVICES = [("Assembly service", "h", "45.00"), ("Delivery within city", "pcs", "35.00"),
            ("Delivery national", "pcs", "79.00"), ("Design consultation", "h", "90.00"),
            ("Extended warranty 3 years", "pcs", "49.00"), ("Installation of lighting", "h", "55.00")]


def seed(company: Company, admin: User | None) -> str | None:
    if db.session.scalar(select(Product.id).where(Product.company_id == company.id).limit(1)):
        return None
    with atomic():  # one transaction: the services nest inside it and only flush
        return _seed(company, admin)


def _seed(company: Company, admin: User | None) -> str:
    rng = random.Random(20260301)
    cid = company.id
    w = words(company, sys.modules[__name__])
    categories: dict[str, int] = {}
    for name, parent in w.CATEGORIES:
        categories[name] = catalog.create_category(
            company_id=cid, user=admin, name=name, parent_id=categories.get(parent)).id
    suppliers = []
    for n, (name, contact, address) in enumerate(w.SUPPLIERS):
        domain = slug(name.split()[0]).strip(".&")
        suppliers.append(catalog.create_supplier(
            company_id=cid, user=admin, name=name, contact_person=contact,
            email=f"orders@{domain}.example.com", phone=f"+49 30 {5550100 + n}",
            address=address, tax_number=f"EU{100200300 + n * 7919}").id)

    count = 0

    def add(sku, name, kind, unit, cost, sale, category, supplier, min_stock):
        nonlocal count
        count += 1
        catalog.create_product(
            company_id=cid, user=admin, sku=sku, name=name, kind=kind, unit=unit,
            cost_price=Decimal(cost), sale_price=Decimal(sale), min_stock=Decimal(min_stock),
            category_id=categories[category], preferred_supplier_id=supplier,
            barcode=f"40{rng.randrange(10**10, 10**11)}")

    n = 0
    for template, unit, cost, category, supplier, variants in w.RAW:
        for variant in variants:
            n += 1
            add(f"RM-{n:04d}", template.format(variant), "raw_material", unit, cost,
                "0.00", category, suppliers[supplier], rng.choice(["20", "50", "100"]))
    n = 0
    for template, unit, cost, category, supplier, variants in w.COMPONENTS:
        for variant in variants:
            n += 1
            add(f"CP-{n:04d}", template.format(variant), "component", unit, cost,
                str((Decimal(cost) * Decimal("1.6")).quantize(Decimal("0.01"))), category,
                suppliers[supplier], rng.choice(["50", "100", "200", "500"]))
    n = 0
    for template, unit, price, category, variants in w.FINISHED:
        for variant in variants:
            for finish in w.FINISHES[: 2 if len(variants) > 3 else 3]:
                n += 1
                sale = Decimal(price) + Decimal(rng.randrange(0, 40))
                add(f"FG-{n:04d}", f"{template.format(variant)}, {finish}", "finished_good",
                    unit, str((sale * Decimal("0.45")).quantize(Decimal("0.01"))), str(sale),
                    category, None, rng.choice(["2", "5", "10"]))
    for k, (name, unit, price) in enumerate(w.SERVICES, start=1):
        add(f"SV-{k:03d}", name, "service", unit, "0.00", price, w.CATEGORIES[-1][0], None, "0")
    return f"{len(categories)} categories, {len(suppliers)} suppliers, {count} products."
