"""Catalog: what each shop sells and what it costs now.

The catalog file and its seeding (:mod:`~origin.catalog.catalog_file`,
:mod:`~origin.catalog.seed`), variant identity (:mod:`~origin.catalog.variant_keys`), the line
item every request sends (:mod:`~origin.catalog.line_items`), lookups and the per-process cache
(:mod:`~origin.catalog.lookups`, :mod:`~origin.catalog.cache`, values in
:mod:`~origin.catalog.values`), and pricing with its drift rule (:mod:`~origin.catalog.pricing`,
:mod:`~origin.catalog.drift`). Nothing here holds stock or talks to Stripe.
"""
