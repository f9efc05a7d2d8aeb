"""Inventory: the stock a hold takes, where it takes it from, and how it is given back.

- :mod:`~origin.inventory.stock` — the vocabulary (a stock line, a shortage) and the only
  statements that take and give back stock;
- :mod:`~origin.inventory.hold_states` — a hold's life: inserted, ended, committed;
- :mod:`~origin.inventory.routing` and :mod:`~origin.inventory.central_policy` — which pool
  serves a variant (the shop's own stock or the central pool) and the central pool's policy;
- :mod:`~origin.inventory.central_pool`, :mod:`~origin.inventory.reservations`,
  :mod:`~origin.inventory.followups` — the central pool in a database of its own;
- :mod:`~origin.inventory.validation` and :mod:`~origin.inventory.inventory_routes` —
  ``POST /api/inventory/validate``.
"""
