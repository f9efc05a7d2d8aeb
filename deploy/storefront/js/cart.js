// The cart lives in the platform (cookie `cart_id`, set by the platform); every price shown in
// the cart comes from its answer, priced from the catalog at that moment.
import { api } from "./api.js";

const EMPTY = { cartId: null, lines: [], subtotal: 0, currency: null };

/** The shopper's cart; a cart the platform forgot (expired) is an empty one. */
export async function getCart() {
  try {
    return (await api("GET", "/api/cart")).data;
  } catch (error) {
    if (error.code === "CART_NOT_FOUND") return EMPTY;
    throw error;
  }
}

export async function addToCart(sku, variantAttributes, quantity) {
  return (await api("POST", "/api/cart", { body: { sku, quantity, variantAttributes } })).data;
}

/** Set a line's quantity; 0 removes the line. */
export async function setQuantity(lineId, quantity) {
  return (await api("PATCH", "/api/cart", { body: { lineId, quantity } })).data;
}

export async function removeLine(lineId) {
  return (await api("DELETE", `/api/cart?lineId=${encodeURIComponent(lineId)}`)).data;
}

export function itemCount(cart) {
  return cart.lines.reduce((count, line) => count + line.quantity, 0);
}
