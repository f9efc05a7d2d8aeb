"""The checkout gateway: the only door to checkout.

Checks every request in the order of docs/api.md §2 (front-door token, route allowlist,
shop id, body size, rate limit) and forwards what passes to the origin.
Start it with ``uvicorn gateway.app:create_app --factory``.
"""
