"""Carts: which cart a request names, what a cart holds, and ``/api/cart``.

:mod:`~origin.carts.cart_identity` (the one cart-id rule), :mod:`~origin.carts.cart_store`
(lines, revisions, the checkout's view of a cart), :mod:`~origin.carts.cart_routes` (the
route). A cart holds identifiers and quantities only; prices come from the catalog.
"""
