// Every platform error in a shopper's words. Pages add the action that fits (confirm the new
// total, update the cart, retry); this module only says what happened and what to do.
import { describeVariant, findProduct, money, variantKey } from "./catalog.js";

function seconds(n) {
  return n === 1 ? "1 second" : `${n} seconds`;
}

/** "Silk Evening Dress (Size 36)" for a line of the cart or of an error answer. */
export function lineName(shop, line) {
  const title = line.title ?? findProduct(shop, line.sku)?.title ?? line.sku;
  const variant = describeVariant(line.variantAttributes);
  return variant ? `${title} (${variant})` : title;
}

/** The short lines of INSUFFICIENT_STOCK matched to the cart: `[{line, requested, available}]`. */
export function shortLines(cart, error) {
  const items = error.body.items ?? [];
  return cart.lines.flatMap((line) => {
    const key = variantKey(line.sku, line.variantAttributes);
    const short = items.find((item) => item.variantKey === key || (!item.variantKey && item.sku === line.sku));
    return short ? [{ line, requested: short.requested, available: Math.max(0, short.available) }] : [];
  });
}

/** `{title, text, details}` for a PlatformError; `details` are lines of a list, if any. */
export function explain(error, shop, cart = { lines: [] }) {
  switch (error.code) {
    case "PRICE_CHANGED":
      return {
        title: "A price has changed",
        text:
          `Prices changed since you added these items. The new total is ` +
          `${money(shop, error.body.total, error.body.currency)}. Nothing has been charged; ` +
          `confirm to continue at the new total.`,
        details: (error.body.lines ?? []).map(
          (line) => `${lineName(shop, line)}: ${line.quantity} × ${money(shop, line.unitPrice, error.body.currency)}`,
        ),
      };
    case "INSUFFICIENT_STOCK":
      return {
        title: "Not enough in stock",
        text: "Someone was quicker: some items are no longer available in the quantity you chose. Nothing has been charged.",
        details: shortLines(cart, error).map(({ line, requested, available }) =>
          available === 0
            ? `${lineName(shop, line)}: sold out`
            : `${lineName(shop, line)}: only ${available} left (you asked for ${requested})`,
        ),
      };
    case "RATE_LIMITED": {
      const wait = error.retryAfter ?? 60;
      return {
        title: "Please wait a moment",
        text: `There were too many attempts in a short time. You can try again in ${seconds(wait)}.`,
        retryAfter: wait,
      };
    }
    case "PAYMENT_PROVIDER_UNAVAILABLE":
      return {
        title: "The payment service did not answer",
        text:
          "Your items are held for you and nothing has been charged. Try again in a few " +
          "seconds — you will continue the same checkout and can only pay once.",
        retryAfter: error.retryAfter ?? 2,
      };
    case "PAYMENT_PROVIDER_ERROR":
      return {
        title: "The payment could not be started",
        text: "Nothing has been charged. Please try again later, or contact us if it keeps happening.",
      };
    case "INVALID_COUPON":
      return { title: "Coupon not accepted", text: "That coupon code is not valid. Check it, or check out without it." };
    case "UNKNOWN_SKU":
      return { title: "An item is no longer sold", text: "Please remove it from your cart and try again." };
    case "CART_EMPTY":
      return { title: "Your cart is empty", text: "Add something to your cart first." };
    case "CART_NOT_FOUND":
      return { title: "Your cart has expired", text: "Please add your items again." };
    case "NETWORK":
      return { title: "No connection", text: "We could not reach the shop. Check your connection and try again." };
    default:
      if (error.code === "INVALID_REQUEST" && /rentalDays/.test(error.message)) {
        return { title: "Check the rental days", text: "Choose between 1 and 90 rental days." };
      }
      return {
        title: error.status >= 500 ? "The shop is having trouble" : "Something went wrong",
        text:
          "Please try again in a moment. Nothing has been charged." +
          (error.requestId ? ` (Reference: ${error.requestId})` : ""),
      };
  }
}
