"""Checkout: reprice, hold, and open the Stripe Checkout Session — and holds that time out.

The route (:mod:`~origin.checkout.checkout_routes`) parses the request into a typed command;
the domain takes it (intents in :mod:`~origin.checkout.intents`, the phases, the session
recorded or replayed in :mod:`~origin.checkout.sessions`) and returns a typed result. The
reaper (:mod:`~origin.checkout.reaper`) expires holds past their time.
"""
