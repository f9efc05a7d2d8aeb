"""Orders: Stripe's payment events turned into exactly one order, and the order status.

:mod:`~origin.orders.webhook_routes` (verify, resolve tenant, answer),
:mod:`~origin.orders.webhook_dispatch` (deduplicate, dispatch from ``HANDLERS``),
:mod:`~origin.orders.paid_orders` (the order written for a paid hold),
:mod:`~origin.orders.order_status` (``GET /api/order-status``).
"""
