// The parts every page shares: building elements, the header (brand, cart count), notices.
import { getCart, itemCount } from "./cart.js";
import { loadShop } from "./catalog.js";

/** `h("p", {class: "x"}, "text", child)` — an element; `on*` attributes become listeners. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

/** Show the cart's item count in the header (`cart` if the page already has it). */
export async function showCartCount(cart) {
  const count = itemCount(cart ?? (await getCart()));
  const badge = document.getElementById("cart-count");
  badge.textContent = String(count);
  badge.closest("a").setAttribute("aria-label", `Cart, ${count} ${count === 1 ? "item" : "items"}`);
}

/** Load the shop, put its name in the header and the title; `pageTitle` names the page. */
export async function startPage(pageTitle) {
  const shop = await loadShop();
  document.documentElement.lang = shop.locale.split("-")[0];
  document.title = pageTitle ? `${pageTitle} · ${shop.shop.name}` : shop.shop.name;
  document.getElementById("brand").textContent = shop.shop.name;
  return shop;
}

/**
 * Replace `region`'s content with a notice `{title, text, details}` and `actions` (buttons);
 * errors take the focus so keyboard and screen-reader users hear them at once.
 */
export function showNotice(region, { title, text, details = [] }, { kind = "error", actions = [] } = {}) {
  const heading = h("h2", { tabindex: "-1" }, title);
  region.replaceChildren(
    h(
      "div",
      { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" },
      heading,
      h("p", {}, text),
      details.length ? h("ul", {}, details.map((line) => h("li", {}, line))) : null,
      actions.length ? h("div", { class: "actions" }, actions) : null,
    ),
  );
  if (kind === "error") heading.focus();
}

export function clearNotice(region) {
  region.replaceChildren();
}
