// The cart: lines and subtotal from the platform's cart answer; checkout from here.
import { getCart, removeLine, setQuantity } from "./cart.js";
import { findProduct, money } from "./catalog.js";
import { checkout } from "./checkout.js";
import { explain, lineName, shortLines } from "./errors.js";
import { clearNotice, h, showCartCount, showNotice, startPage } from "./layout.js";
import { mountPayment } from "./stripe-pay.js";

const shop = await startPage("Cart");
const root = document.getElementById("cart");
const notice = document.getElementById("notice");
const payment = document.getElementById("payment");
let cart = await getCart();
let short = new Map(); // lineId → units left, after INSUFFICIENT_STOCK

const currency = () => cart.currency ?? shop.shop.currency;
const depositOf = (line) => (shop.isRental ? (findProduct(shop, line.sku)?.deposit ?? 0) * line.quantity : 0);

async function change(action, focusId) {
  clearNotice(notice);
  try {
    cart = await action();
  } catch (error) {
    showNotice(notice, explain(error, shop, cart));
    return;
  }
  short = new Map();
  render();
  // Keep the keyboard where it was; when that control is gone (last line removed), the page.
  (document.getElementById(focusId) ?? document.getElementById("main")).focus();
}

function changeQuantity(line, input, inputId) {
  const quantity = Number(input.value);
  if (!Number.isInteger(quantity) || quantity < 0 || quantity > 999) {
    showNotice(notice, { title: "Check the quantity", text: "Choose a quantity from 0 to 999 (0 removes the item)." });
    input.value = String(line.quantity);
    return;
  }
  change(() => setQuantity(line.lineId, quantity), inputId);
}

function lineView(line) {
  const name = lineName(shop, line);
  const inputId = `qty-${line.lineId}`;
  const left = short.get(line.lineId);
  return h(
    "li",
    { class: "cart-line", "data-sku": line.sku },
    h("div", { class: "swatch small", "aria-hidden": "true", "data-sku": line.sku }),
    h(
      "div",
      { class: "line-main" },
      h("p", { class: "line-title" }, name),
      h(
        "p",
        { class: "line-price" },
        `${money(shop, line.unitPrice, currency())} each`,
        line.priceAtAdd !== line.unitPrice
          ? h("span", { class: "was" }, ` (was ${money(shop, line.priceAtAdd, currency())} when added)`)
          : null,
      ),
      shop.isRental ? h("p", { class: "deposit" }, `Deposit ${money(shop, depositOf(line), currency())}`) : null,
      left === undefined ? null : h("p", { class: "stock-warning" }, left === 0 ? "Sold out" : `Only ${left} left`),
    ),
    h(
      "div",
      { class: "line-controls" },
      h("label", { for: inputId }, "Quantity", h("span", { class: "visually-hidden" }, ` of ${name}`)),
      h("input", {
        id: inputId, type: "number", min: "0", max: "999", value: String(line.quantity), inputmode: "numeric",
        onchange: (event) => changeQuantity(line, event.target, inputId),
      }),
      h("button", {
        type: "button", class: "button link", "aria-label": `Remove ${name}`,
        onclick: () => change(() => removeLine(line.lineId), "checkout-button"),
      }, "Remove"),
    ),
    h("p", { class: "line-total" }, money(shop, line.lineTotal, currency())),
  );
}

function checkoutForm() {
  const deposits = cart.lines.reduce((sum, line) => sum + depositOf(line), 0);
  return h(
    "form",
    { class: "checkout", id: "checkout-form", onsubmit: submit, novalidate: true },
    h("p", { class: "subtotal" }, "Subtotal ", h("strong", { id: "subtotal" }, money(shop, cart.subtotal, currency()))),
    shop.isRental
      ? h("p", { class: "deposit" }, "Refundable deposits, charged now ", h("strong", { id: "deposits" }, money(shop, deposits, currency())))
      : null,
    shop.isRental
      ? h("label", { class: "field" }, "Rental days",
          h("input", { name: "rentalDays", type: "number", min: "1", max: "90", value: "3", required: true, inputmode: "numeric" }))
      : null,
    h("label", { class: "field" }, "Coupon code (optional)", h("input", { name: "couponCode", autocomplete: "off", maxlength: "64" })),
    h("button", { type: "submit", class: "button primary", id: "checkout-button" }, shop.isRental ? "Continue to payment" : "Pay securely"),
  );
}

function render() {
  payment.replaceChildren();
  showCartCount(cart);
  if (!cart.lines.length) {
    root.replaceChildren(h("p", { class: "empty" }, "Your cart is empty. ", h("a", { href: "/" }, "Continue shopping")));
    return;
  }
  root.replaceChildren(h("ul", { class: "cart-lines" }, cart.lines.map(lineView)), checkoutForm());
}

function request(form) {
  const body = {};
  const coupon = form.couponCode.value.trim();
  if (coupon) body.couponCode = coupon;
  if (shop.isRental) body.rentalDays = Number(form.rentalDays.value);
  return body;
}

function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  if (shop.isRental && !form.rentalDays.checkValidity()) {
    showNotice(notice, { title: "Check the rental days", text: "Choose between 1 and 90 rental days." });
    form.rentalDays.focus();
    return;
  }
  start(request(form));
}

function busy(on) {
  const button = document.getElementById("checkout-button");
  if (button) {
    button.disabled = on;
    button.setAttribute("aria-busy", String(on));
  }
}

async function start(body) {
  busy(true);
  clearNotice(notice);
  try {
    const answer = await checkout(cart, body);
    if (answer.status === "paid") {
      location.assign(`/thank-you/?session_id=${encodeURIComponent(answer.sessionId)}`);
    } else if (answer.priceChanged && body.expectedTotal === undefined) {
      cart = await getCart();
      render();
      const total = money(shop, answer.amountTotal, answer.currency);
      showNotice(
        notice,
        { title: "A price has changed", text: `Prices changed since you added these items. The new total is ${total}.` },
        { actions: [h("button", { type: "button", class: "button primary", onclick: () => proceed(answer) }, `Continue with the new total ${total}`)] },
      );
    } else {
      await proceed(answer);
    }
  } catch (error) {
    await failed(error, body);
  } finally {
    busy(false);
  }
}

function retryButton(label, seconds, onclick) {
  const button = h("button", { type: "button", class: "button primary", disabled: seconds > 0, onclick }, label);
  if (seconds > 0) setTimeout(() => button.removeAttribute("disabled"), seconds * 1000);
  return button;
}

async function failed(error, body) {
  const words = explain(error, shop, cart);
  const actions = [];
  if (error.code === "PRICE_CHANGED") {
    cart = await getCart();
    render();
    const total = money(shop, error.body.total, error.body.currency);
    actions.push(h("button", { type: "button", class: "button primary", onclick: () => start({ ...body, expectedTotal: error.body.total }) }, `Confirm the new total ${total}`));
  } else if (error.code === "INSUFFICIENT_STOCK") {
    const lines = shortLines(cart, error);
    short = new Map(lines.map(({ line, available }) => [line.lineId, available]));
    render();
    actions.push(h("button", { type: "button", class: "button primary", onclick: () => fitToStock(lines) }, "Update my cart to what is left"));
  } else if (["RATE_LIMITED", "PAYMENT_PROVIDER_UNAVAILABLE", "NETWORK"].includes(error.code) || error.status >= 500) {
    actions.push(retryButton("Try again", words.retryAfter ?? 0, () => start(body)));
  }
  showNotice(notice, words, { actions });
}

async function fitToStock(lines) {
  let latest = cart;
  for (const { line, available } of lines) {
    latest = available === 0 ? await removeLine(line.lineId) : await setQuantity(line.lineId, available);
  }
  await change(async () => latest, "checkout-button");
}

async function proceed(answer) {
  if (answer.url) {
    location.assign(answer.url);
    return;
  }
  const total = money(shop, answer.amountTotal, answer.currency);
  const deposits = cart.lines.reduce((sum, line) => sum + depositOf(line), 0);
  const element = h("div", { id: "payment-element", class: "payment-element" });
  const payNotice = h("div", { id: "payment-notice" });
  const pay = h("button", { type: "button", class: "button primary", id: "pay-button", disabled: true }, `Pay ${total}`);
  const heading = h("h2", { tabindex: "-1", id: "payment-title" }, "Payment");
  payment.replaceChildren(
    h(
      "section",
      { class: "payment", "aria-labelledby": "payment-title" },
      heading,
      h("p", { id: "payment-total" }, `Total to pay now: ${total}`,
        deposits ? `, including ${money(shop, deposits, answer.currency)} refundable deposit` : "", "."),
      element,
      pay,
      payNotice,
    ),
  );
  heading.focus();
  let actions;
  try {
    actions = await mountPayment(answer.clientSecret, element);
  } catch (error) {
    showNotice(payNotice, { title: "The payment form could not be loaded", text: `${error.message} Please try again.` });
    return;
  }
  pay.disabled = false;
  pay.addEventListener("click", async () => {
    pay.disabled = true;
    clearNotice(payNotice);
    const result = await actions.confirm();
    if (result?.type === "error") {
      showNotice(payNotice, { title: "The payment did not go through", text: result.error.message });
      pay.disabled = false;
    }
  });
}

render();
