"""A local, stateful stand-in for the part of Stripe's API that checkout-edge uses.

Start it with ``python -m tests.stripe_sim`` (see ``README.md``) or build it in a test with
:func:`create_app`. Modules, by concept:

- ``api``: ``/v1`` endpoints; ``edge``: request ids, request log and faults around them;
- ``forms``/``params``: Stripe's nested form encoding and its validation;
- ``session_params``/``sessions``: what a Checkout Session accepts, is and becomes;
- ``idempotency``, ``faults``, ``versions``: Stripe's retry, failure and versioning rules;
- ``events``/``webhooks``: signed deliveries with retries;
- ``controls``: the ``/_sim`` control API; ``pay_page``: the hosted payment page.
"""

from .app import create_app
from .config import SimConfig

__all__ = ["SimConfig", "create_app"]
