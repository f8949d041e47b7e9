"""Purchasing: purchase orders, goods receipts and reordering (routes in views.py)."""
