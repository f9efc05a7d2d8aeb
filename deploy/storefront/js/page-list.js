// The product list: every product of the shop's catalog with its price and options.
import { money, optionLabel, valueLabel } from "./catalog.js";
import { h, showCartCount, startPage } from "./layout.js";

function priceLine(shop, product) {
  if (!shop.isRental) return h("p", { class: "price" }, money(shop, product.price));
  return h(
    "p",
    { class: "price" },
    `${money(shop, product.price)} rental`,
    h("span", { class: "deposit" }, ` + ${money(shop, product.deposit)} refundable deposit`),
  );
}

function optionSummary(product) {
  return Object.entries(product.options).map(([name, values]) =>
    h("p", { class: "options" }, `${optionLabel(name)}: ${values.map((v) => valueLabel(name, v)).join(", ")}`),
  );
}

const shop = await startPage("");
document.getElementById("shop-name").textContent = shop.shop.name;
document.getElementById("tagline").textContent = shop.tagline ?? "";
document.getElementById("products").replaceChildren(
  ...shop.products.map((product) =>
    h(
      "li",
      { class: "product-card" },
      h("div", { class: "swatch", "aria-hidden": "true", "data-sku": product.sku }),
      h("h3", {}, h("a", { href: `/product/?sku=${encodeURIComponent(product.sku)}` }, product.title)),
      priceLine(shop, product),
      optionSummary(product),
    ),
  ),
);
await showCartCount();
