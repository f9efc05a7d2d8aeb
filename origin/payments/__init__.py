"""Payments: everything that talks to Stripe — and the only package that imports ``stripe``.

:mod:`~origin.payments.stripe_client` calls the API (sessions created, read, expired; errors
sorted into definitive or unknown) and verifies webhook signatures;
:mod:`~origin.payments.http` is the HTTP/1.1 client stripe-python sends those calls through
(its connections: :mod:`~origin.payments.http_pool`, :mod:`~origin.payments.http_connection`);
:mod:`~origin.payments.session_params` builds a Checkout Session's parameters from a hold's
priced snapshot.
"""
