"""Checkout Sessions: what one is, how it moves between states, how Stripe shows it.

A session is ``open`` until it is paid (``complete``) or runs out (``expired``); both are final,
like at Stripe. An asynchronous payment method completes the session ``unpaid`` and settles it
later with ``async_payment_succeeded`` (→ ``paid``) or ``async_payment_failed``.
"""

from dataclasses import dataclass, field

from .errors import invalid_request, no_such
from .ids import new_id
from .versions import ApiVersion, UiMode


@dataclass(frozen=True)
class LineItem:
    """One ``price_data`` line; only ad-hoc prices exist here, no Price objects."""

    name: str
    description: str | None
    unit_amount: int
    quantity: int
    currency: str
    id: str = field(default_factory=lambda: new_id("li"))

    @property
    def amount(self) -> int:
        """The line's total in minor units."""
        return self.unit_amount * self.quantity

    def to_stripe(self) -> dict[str, object]:
        """The ``item`` object of the ``line_items`` list."""
        return {
            "id": self.id,
            "object": "item",
            "amount_discount": 0,
            "amount_subtotal": self.amount,
            "amount_tax": 0,
            "amount_total": self.amount,
            "currency": self.currency,
            "description": self.name,
            "price": {
                "object": "price",
                "active": False,
                "currency": self.currency,
                "product": {
                    "object": "product",
                    "name": self.name,
                    "description": self.description,
                },
                "type": "one_time",
                "unit_amount": self.unit_amount,
            },
            "quantity": self.quantity,
        }


@dataclass
class CheckoutSession:
    """One Checkout Session in ``payment`` mode and its state."""

    id: str
    created: int
    expires_at: int
    ui_mode: UiMode
    currency: str
    line_items: list[LineItem]
    metadata: dict[str, str]
    customer_email: str | None
    client_reference_id: str | None
    success_url: str | None
    cancel_url: str | None
    return_url: str | None
    #: The hosted page, e.g. ``http://127.0.0.1:12111/pay/cs_test_…``; None for other modes.
    url: str | None
    client_secret: str | None
    status: str = "open"
    payment_status: str = "unpaid"
    payment_intent: str | None = None

    def __post_init__(self) -> None:
        if self.amount_total == 0:
            self.payment_status = "no_payment_required"

    @property
    def amount_subtotal(self) -> int:
        """The sum of the lines, in minor units."""
        return sum(item.amount for item in self.line_items)

    @property
    def amount_total(self) -> int:
        """What the customer pays: the subtotal, as there are no discounts, tax or shipping."""
        return self.amount_subtotal

    def complete(self, *, paid_later: bool) -> None:
        """The customer paid (or, with ``paid_later``, started an asynchronous payment)."""
        self._require_status("open", "completed")
        self.status = "complete"
        self.payment_intent = new_id("pi")
        if self.payment_status != "no_payment_required":
            self.payment_status = "unpaid" if paid_later else "paid"

    def settle(self, *, succeeded: bool) -> None:
        """An asynchronous payment settled; a failure leaves the session complete and unpaid."""
        if self.status != "complete" or self.payment_status != "unpaid":
            raise invalid_request(
                "Only a complete, unpaid Checkout Session has an asynchronous payment to "
                f"settle; this one is {self.status} and {self.payment_status}.",
                param="session",
            )
        if succeeded:
            self.payment_status = "paid"

    def expire(self) -> bool:
        """Expire an open session; ``False`` if it already was expired."""
        if self.status == "expired":
            return False
        self._require_status("open", "expired")
        self.status = "expired"
        return True

    def _require_status(self, wanted: str, action: str) -> None:
        if self.status != wanted:
            raise invalid_request(
                f"Only Checkout Sessions with a status of `{wanted}` can be {action}. This "
                f"Checkout Session has a status of `{self.status}`.",
                param="session",
            )

    def to_stripe(
        self, version: ApiVersion, *, expand_line_items: bool = False
    ) -> dict[str, object]:
        """The ``checkout.session`` object as ``GET /v1/checkout/sessions/{id}`` answers it."""
        hosted = self.ui_mode is UiMode.HOSTED
        answer: dict[str, object] = {
            "id": self.id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": self.amount_subtotal,
            "amount_total": self.amount_total,
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "billing_address_collection": None,
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "client_secret": self.client_secret,
            "created": self.created,
            "currency": self.currency,
            "customer": None,
            "customer_creation": "if_required",
            "customer_details": self._customer_details(),
            "customer_email": self.customer_email,
            "expires_at": self.expires_at,
            "invoice": None,
            "livemode": False,
            "locale": None,
            "metadata": dict(self.metadata),
            "mode": "payment",
            "payment_intent": self.payment_intent,
            "payment_method_types": ["card"],
            "payment_status": self.payment_status,
            "return_url": self.return_url,
            "status": self.status,
            "success_url": self.success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": version.ui_mode_name(self.ui_mode),
            # Stripe shows the hosted page's URL only while the session can still be paid.
            "url": self.url if hosted and self.status == "open" else None,
        }
        if expand_line_items:
            answer["line_items"] = {
                "object": "list",
                "data": [item.to_stripe() for item in self.line_items],
                "has_more": False,
                "url": f"/v1/checkout/sessions/{self.id}/line_items",
            }
        return answer

    def _customer_details(self) -> dict[str, object] | None:
        if self.status != "complete":
            return None
        return {
            "address": None,
            "email": self.customer_email,
            "name": None,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        }


class SessionStore:
    """All sessions of one stand-in, by id."""

    def __init__(self) -> None:
        self._sessions: dict[str, CheckoutSession] = {}

    def add(self, session: CheckoutSession) -> None:
        """Keep a newly created session."""
        self._sessions[session.id] = session

    def get(self, session_id: str) -> CheckoutSession:
        """The session with this id, or Stripe's 404."""
        session = self._sessions.get(session_id)
        if session is None:
            raise no_such("checkout.session", session_id, param="session")
        return session

    def find(self, session_id: str) -> CheckoutSession | None:
        """The session with this id, if any."""
        return self._sessions.get(session_id)

    def all(self) -> list[CheckoutSession]:
        """Every session, oldest first."""
        return list(self._sessions.values())

    def overdue(self, now: float) -> list[CheckoutSession]:
        """Open sessions whose ``expires_at`` has passed."""
        return [s for s in self._sessions.values() if s.status == "open" and s.expires_at <= now]

    def clear(self) -> None:
        """Forget every session."""
        self._sessions.clear()
