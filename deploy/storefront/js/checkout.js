// One checkout attempt = one Idempotency-Key, kept in sessionStorage until the attempt ends.
// A retry of the same attempt (double click, reload, "try again" after the payment provider
// timed out) sends the same key and the same body, so the platform answers with the same
// hold and the same payment session. Changing the cart, coupon or rental days is another
// attempt. The attempt ends when the platform answers that nothing was held (4xx) or the
// thank-you page sees the order paid.
import { api } from "./api.js";

const STORAGE = "checkout-attempt";

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function stored() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE) ?? "null");
  } catch {
    return null;
  }
}

/** What makes two checkouts the same attempt: the cart's lines and the request. */
export function fingerprint(cart, request) {
  const lines = cart.lines.map((line) => [line.lineId, line.quantity]);
  return JSON.stringify({ cart: cart.cartId, revision: cart.revision ?? null, lines, request });
}

export function endAttempt() {
  sessionStorage.removeItem(STORAGE);
}

/** Whether a failure leaves the attempt open: the outcome is unknown, so retry it as is. */
function keepsAttempt(error) {
  return error.status === 0 || error.status === 429 || error.status >= 500;
}

let inFlight = null;

/**
 * POST /api/checkout-session for this cart and request (`couponCode`, `rentalDays`,
 * `expectedTotal`); resolves the platform's answer or throws its PlatformError. Concurrent
 * calls (a double click) share one request.
 */
export function checkout(cart, request) {
  inFlight ??= send(cart, request).finally(() => {
    inFlight = null;
  });
  return inFlight;
}

async function send(cart, request) {
  const print = fingerprint(cart, request);
  let attempt = stored();
  if (attempt?.fingerprint !== print) {
    attempt = { key: randomKey(), fingerprint: print };
    sessionStorage.setItem(STORAGE, JSON.stringify(attempt));
  }
  try {
    const { data } = await api("POST", "/api/checkout-session", {
      body: request,
      headers: { "Idempotency-Key": attempt.key },
    });
    sessionStorage.setItem(STORAGE, JSON.stringify({ ...attempt, sessionId: data.sessionId }));
    return data;
  } catch (error) {
    if (!keepsAttempt(error)) endAttempt();
    throw error;
  }
}
