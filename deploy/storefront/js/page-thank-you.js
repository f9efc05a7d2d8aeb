// The thank-you page (the session's success/return URL): polls /api/order-status until the
// order is paid, then shows it from that answer. It only reads: reloading or revisiting it
// changes nothing (the platform empties the cart when the payment's webhook arrives).
import { api } from "./api.js";
import { money } from "./catalog.js";
import { endAttempt } from "./checkout.js";
import { explain, lineName } from "./errors.js";
import { h, showCartCount, startPage } from "./layout.js";

const POLL_MS = 1000;
const MAX_POLLS = 60;

const shop = await startPage("Order");
const root = document.getElementById("order");
const sessionId = new URLSearchParams(location.search).get("session_id");

function show(title, ...content) {
  const heading = h("h1", { tabindex: "-1" }, title);
  root.replaceChildren(heading, ...content);
  heading.focus();
}

function orderView(status) {
  const cur = status.currency;
  const rows = (status.lines ?? []).map((line) =>
    h("tr", {}, h("td", {}, lineName(shop, line)), h("td", { class: "num" }, String(line.quantity)), h("td", { class: "num" }, money(shop, line.lineTotal, cur))),
  );
  // The answer has no discount field: what the lines and deposits exceed the total by is it.
  const charged = (status.lines ?? []).reduce((sum, line) => sum + line.lineTotal, 0) + (status.depositTotal ?? 0);
  if (status.lines?.length && charged > status.amountTotal) {
    rows.push(h("tr", {}, h("td", {}, "Discount"), h("td", {}), h("td", { class: "num" }, `−${money(shop, charged - status.amountTotal, cur)}`)));
  }
  if (status.depositTotal) {
    rows.push(h("tr", {}, h("td", {}, "Refundable deposit"), h("td", {}), h("td", { class: "num" }, money(shop, status.depositTotal, cur))));
  }
  return h(
    "table",
    { class: "order-lines" },
    h("caption", { class: "visually-hidden" }, "Your order"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Item"), h("th", { scope: "col", class: "num" }, "Qty"), h("th", { scope: "col", class: "num" }, "Amount"))),
    h("tbody", {}, rows),
    h("tfoot", {}, h("tr", {}, h("th", { scope: "row", colspan: "2" }, "Total paid"), h("td", { class: "num", id: "order-total" }, money(shop, status.amountTotal, cur)))),
  );
}

function paid(status) {
  endAttempt();
  show(
    "Thank you for your order",
    h("p", { class: "order-id" }, "Order number ", h("strong", { id: "order-id" }, status.orderId ?? "")),
    orderView(status),
    h("p", {}, "A receipt is on its way. ", h("a", { href: "/" }, "Continue shopping")),
  );
}

async function poll() {
  if (!sessionId) {
    show("No order to show", h("p", {}, h("a", { href: "/" }, "Continue shopping")));
    return;
  }
  for (let attempt = 0; attempt < MAX_POLLS; attempt += 1) {
    let status;
    try {
      status = (await api("GET", `/api/order-status?sessionId=${encodeURIComponent(sessionId)}`)).data;
    } catch (error) {
      if (error.code === "SESSION_NOT_FOUND") {
        show("We cannot find this order", h("p", {}, "Check the link, or contact us with your receipt."));
        return;
      }
      if (error.status !== 0 && error.status !== 429 && error.status < 500) {
        const words = explain(error, shop);
        show(words.title, h("p", {}, words.text));
        return;
      }
      status = { status: "pending" };
    }
    if (status.status === "paid") return paid(status);
    if (status.status === "expired") {
      return show("This checkout expired", h("p", {}, "It ended before payment; nothing was charged. ", h("a", { href: "/cart/" }, "Back to your cart")));
    }
    if (status.status === "failed") {
      return show("The payment did not go through", h("p", {}, "Nothing was charged. ", h("a", { href: "/cart/" }, "Back to your cart")));
    }
    if (attempt === 0) {
      show("Waiting for your payment", h("p", {}, "Your payment is being confirmed. This page updates by itself."));
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  show("Your payment is still being confirmed", h("p", {}, "This can take a few minutes. Reload this page later to see your order."));
}

await poll();
await showCartCount();
