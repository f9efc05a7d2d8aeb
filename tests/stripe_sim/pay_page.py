"""The hosted payment page: what a person sees at a hosted session's ``url``.

``GET /pay/{id}`` lists the line items and the total with Pay and Cancel buttons. Pay completes
the session, delivers ``checkout.session.completed`` and redirects (303) to ``success_url`` with
``{CHECKOUT_SESSION_ID}`` filled in; Cancel redirects to ``cancel_url`` and leaves the session
open, as Stripe's back link does.
"""

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .sessions import CheckoutSession
from .simulator import SimState
from .versions import UiMode

_ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
     "xaf", "xof", "xpf"}
)  # fmt: skip
_THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

_STYLE = """
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f6f8fa;
color:#1a1f36}
main{max-width:28rem;margin:4rem auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 2px 12px rgba(26,31,54,.08)}
h1{font-size:1.1rem;margin:0 0 1.5rem;color:#697386;font-weight:500}
table{width:100%;border-collapse:collapse}
td{padding:.5rem 0;border-bottom:1px solid #e3e8ee;vertical-align:top}
td.amount{text-align:right;white-space:nowrap}
small{color:#697386}
tr.total td{border:0;font-weight:600;font-size:1.2rem;padding-top:1rem}
form{margin:0}.actions{display:flex;gap:.75rem;margin-top:1.5rem}
button{flex:1;font:inherit;border:0;border-radius:6px;padding:.75rem;cursor:pointer}
.pay{background:#635bff;color:#fff}.cancel{background:#e3e8ee;color:#1a1f36}
.note{color:#697386;margin-top:1.5rem;text-align:center;font-size:.85rem}
"""


def routes() -> list[BaseRoute]:
    """The hosted page and its two buttons."""
    return [
        Route("/pay/{session_id}", show, methods=["GET"]),
        Route("/pay/{session_id}/complete", complete, methods=["POST"]),
        Route("/pay/{session_id}/cancel", cancel, methods=["POST"]),
    ]


async def show(request: Request[SimState]) -> Response:
    """``GET /pay/{id}``."""
    sim = request.state["sim"]
    sim.expire_overdue()
    session = _hosted_session(request)
    if session is None:
        return _page("Not found", "<p>This checkout page does not exist.</p>", status=404)
    return _page("Checkout", _summary(session) + _actions(session))


async def complete(request: Request[SimState]) -> Response:
    """The Pay button."""
    session = _hosted_session(request)
    if session is None:
        return _page("Not found", "<p>This checkout page does not exist.</p>", status=404)
    sim = request.state["sim"]
    sim.expire_overdue()
    if session.status != "open":
        return _page("Checkout", _summary(session) + _actions(session), status=409)
    await sim.pay(session.id, paid_later=False)
    assert session.success_url is not None  # hosted sessions are created with one
    return RedirectResponse(session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id), 303)


async def cancel(request: Request[SimState]) -> Response:
    """The Cancel button: back to the shop, the session stays open."""
    session = _hosted_session(request)
    if session is None:
        return _page("Not found", "<p>This checkout page does not exist.</p>", status=404)
    if session.cancel_url is None:
        return _page("Checkout", _summary(session) + '<p class="note">Payment cancelled.</p>')
    return RedirectResponse(session.cancel_url.replace("{CHECKOUT_SESSION_ID}", session.id), 303)


def format_amount(amount: int, currency: str) -> str:
    """``3400, "usd"`` → ``34.00 USD``; zero- and three-decimal currencies respected."""
    digits = 0 if currency in _ZERO_DECIMAL else 3 if currency in _THREE_DECIMAL else 2
    major = f"{amount / 10**digits:,.{digits}f}" if digits else f"{amount:,}"
    return f"{major} {currency.upper()}"


def _hosted_session(request: Request[SimState]) -> CheckoutSession | None:
    session = request.state["sim"].sessions.find(request.path_params["session_id"])
    if session is None or session.ui_mode is not UiMode.HOSTED:
        return None
    return session


def _summary(session: CheckoutSession) -> str:
    rows = "".join(
        f"<tr><td>{escape(item.name)}"
        + (f"<br><small>{escape(item.description)}</small>" if item.description else "")
        + f"<br><small>Qty {item.quantity} x {format_amount(item.unit_amount, item.currency)}"
        f"</small></td><td class=amount>{format_amount(item.amount, item.currency)}</td></tr>"
        for item in session.line_items
    )
    total = format_amount(session.amount_total, session.currency)
    return f"<table>{rows}<tr class=total><td>Total</td><td class=amount>{total}</td></tr></table>"


def _actions(session: CheckoutSession) -> str:
    if session.status == "complete":
        return '<p class="note">This checkout session is already paid.</p>'
    if session.status == "expired":
        return '<p class="note">This checkout session has expired.</p>'
    total = format_amount(session.amount_total, session.currency)
    sid = escape(session.id)
    return (
        '<div class="actions">'
        f'<form method="post" action="/pay/{sid}/cancel">'
        '<button class="cancel" type="submit">Cancel</button></form>'
        f'<form method="post" action="/pay/{sid}/complete">'
        f'<button class="pay" type="submit">Pay {total}</button></form>'
        "</div>"
        '<p class="note">Local Stripe stand-in: no card is charged.</p>'
    )


def _page(title: str, content: str, *, status: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{content}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status)
