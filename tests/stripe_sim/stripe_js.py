"""A stand-in of the Stripe.js calls a custom-mode storefront makes, and their confirm flow.

``GET /js/stripe.js`` is a script defining ``window.Stripe(publishableKey)`` with the part of
the Checkout Elements SDK the storefront uses: ``stripe.initCheckoutElementsSdk({clientSecret})``
→ ``checkout.createPaymentElement().mount(target)`` (a labelled stand-in card field) and
``checkout.loadActions()`` → ``{type: "success", actions: {confirm()}}``. ``confirm()`` asks the
stand-in to pay the session — completing it and delivering ``checkout.session.completed``
exactly as the hosted page's Pay button does — then sends the browser to the session's
``return_url``, as Stripe does; a session that cannot be paid resolves
``{type: "error", error: {message}}``.

The script's two calls, answered with ``Access-Control-Allow-Origin: *`` (the storefront is
on another origin, like js.stripe.com is):

* ``GET /js/checkout/{client_secret}`` — the session's status, total and line items;
* ``POST /js/checkout/{client_secret}/confirm`` — pay; answers ``{returnUrl}``.

A client secret that names no custom-mode session answers 404 in Stripe's error shape.
"""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .errors import invalid_request, no_such
from .responses import stripe_json
from .sessions import CheckoutSession
from .simulator import SimState
from .versions import UiMode

_CORS = {"Access-Control-Allow-Origin": "*"}

_SCRIPT = r"""
(function () {
  "use strict";
  var base = new URL(document.currentScript.src).origin;

  function call(method, secret, suffix) {
    return fetch(base + "/js/checkout/" + encodeURIComponent(secret) + (suffix || ""), {
      method: method,
    }).then(function (response) {
      return response.json().then(function (body) {
        return { ok: response.ok, body: body };
      });
    });
  }

  function failure(answer) {
    return { type: "error", error: { message: answer.body.error.message } };
  }

  function paymentElement() {
    return {
      mount: function (target) {
        var host = typeof target === "string" ? document.querySelector(target) : target;
        host.innerHTML =
          '<div class="stripe-sim-element">' +
          '<label for="stripe-sim-card">Card number</label>' +
          '<input id="stripe-sim-card" inputmode="numeric" autocomplete="cc-number" ' +
          'value="4242 4242 4242 4242">' +
          '<p class="stripe-sim-note">Local Stripe stand-in: no card is charged.</p></div>';
      },
    };
  }

  function initCheckoutElementsSdk(options) {
    var secret = Promise.resolve(options.clientSecret);
    var session = secret.then(function (s) { return call("GET", s); });
    return {
      createPaymentElement: paymentElement,
      loadActions: function () {
        return session.then(function (answer) {
          if (!answer.ok) return failure(answer);
          return {
            type: "success",
            actions: {
              getSession: function () { return answer.body; },
              confirm: function () {
                return secret.then(function (s) { return call("POST", s, "/confirm"); })
                  .then(function (paid) {
                    if (!paid.ok) return failure(paid);
                    window.location.assign(paid.body.returnUrl);
                    return new Promise(function () {});  // the page is leaving
                  });
              },
            },
          };
        });
      },
    };
  }

  window.Stripe = function Stripe(publishableKey) {
    if (!/^pk_(test|live)_[A-Za-z0-9_]+$/.test(String(publishableKey))) {
      throw new Error("Stripe stand-in: invalid publishable key " + publishableKey);
    }
    return { initCheckoutElementsSdk: initCheckoutElementsSdk };
  };
})();
"""


def routes() -> list[BaseRoute]:
    """The script and its two calls."""
    return [
        Route("/js/stripe.js", script, methods=["GET"]),
        Route("/js/checkout/{client_secret}", show, methods=["GET"]),
        Route("/js/checkout/{client_secret}/confirm", confirm, methods=["POST"]),
    ]


async def script(request: Request[SimState]) -> Response:
    """``GET /js/stripe.js``."""
    return Response(_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


async def show(request: Request[SimState]) -> Response:
    """``GET /js/checkout/{client_secret}``: what the payment form shows."""
    request.state["sim"].expire_overdue()
    session = _custom_session(request)
    body = {
        "id": session.id,
        "status": session.status,
        "amountTotal": session.amount_total,
        "currency": session.currency,
        "lineItems": [
            {"name": item.name, "quantity": item.quantity, "amount": item.amount}
            for item in session.line_items
        ],
    }
    return stripe_json(body, headers=_CORS)


async def confirm(request: Request[SimState]) -> Response:
    """``POST /js/checkout/{client_secret}/confirm``: pay, then where the browser goes next."""
    session = _custom_session(request)
    await request.state["sim"].pay(session.id, paid_later=False)
    return_url = (session.return_url or "").replace("{CHECKOUT_SESSION_ID}", session.id)
    return stripe_json({"returnUrl": return_url}, headers=_CORS)


def _custom_session(request: Request[SimState]) -> CheckoutSession:
    secret = request.path_params["client_secret"]
    session_id = secret.split("_secret_", 1)[0]
    session = request.state["sim"].sessions.find(session_id)
    if session is None or session.ui_mode is UiMode.HOSTED or session.client_secret != secret:
        error = no_such("checkout.session", session_id, param="client_secret")
        error.headers.update(_CORS)
        raise error
    if session.status != "open":
        error = invalid_request(
            f"This Checkout Session is {session.status}; it cannot be paid.", param="session"
        )
        error.headers.update(_CORS)
        raise error
    return session
