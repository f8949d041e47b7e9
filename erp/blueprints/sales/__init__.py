"""Sales: customers and sales orders from draft to invoice."""
