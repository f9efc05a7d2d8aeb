// One product: choose its options and a quantity, add it to the platform cart.
import { addToCart } from "./cart.js";
import { findProduct, money, optionLabel, valueLabel } from "./catalog.js";
import { explain } from "./errors.js";
import { h, showCartCount, showNotice, startPage } from "./layout.js";

const shop = await startPage("Product");
const product = findProduct(shop, new URLSearchParams(location.search).get("sku"));
const root = document.getElementById("product");
const notice = document.getElementById("product-notice");

function chosen(form) {
  const data = new FormData(form);
  return Object.fromEntries(Object.keys(product.options).map((name) => [name, data.get(name)]));
}

function exists(attributes) {
  return product.variants.some((variant) =>
    Object.entries(variant.attributes).every(([name, value]) => attributes[name] === value),
  );
}

function optionGroup(name, values) {
  return h(
    "fieldset",
    { class: "option-group" },
    h("legend", {}, optionLabel(name)),
    values.map((value, index) =>
      h(
        "label",
        { class: "choice" },
        h("input", { type: "radio", name, value, required: true, checked: index === 0 }),
        h("span", { "data-value": value }, valueLabel(name, value)),
      ),
    ),
  );
}

async function add(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const attributes = chosen(form);
  if (!exists(attributes)) {
    showNotice(notice, { title: "Not available", text: "This combination is not sold. Choose another." });
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const cart = await addToCart(product.sku, attributes, Number(form.quantity.value));
    await showCartCount(cart);
    showNotice(
      notice,
      { title: "Added to your cart", text: `${product.title} is in your cart.` },
      { kind: "success", actions: [h("a", { class: "button", href: "/cart/" }, "View cart")] },
    );
  } catch (error) {
    showNotice(notice, explain(error, shop));
  } finally {
    button.disabled = false;
  }
}

if (!product) {
  document.title = `Not found · ${shop.shop.name}`;
  root.replaceChildren(h("h1", {}, "Product not found"), h("p", {}, h("a", { href: "/" }, "See all products")));
} else {
  document.title = `${product.title} · ${shop.shop.name}`;
  root.replaceChildren(
    h(
      "article",
      { class: "product-detail" },
      h("div", { class: "swatch large", "aria-hidden": "true", "data-sku": product.sku }),
      h(
        "div",
        {},
        h("h1", {}, product.title),
        h("p", { class: "price" }, shop.isRental ? `${money(shop, product.price)} for the whole rental` : money(shop, product.price)),
        shop.isRental
          ? h("p", { class: "deposit" }, `Refundable deposit ${money(shop, product.deposit)} per item, charged with the rental.`)
          : null,
        h(
          "form",
          { id: "add-form", onsubmit: add },
          Object.entries(product.options).map(([name, values]) => optionGroup(name, values)),
          h(
            "label",
            { class: "field" },
            "Quantity",
            h("input", { type: "number", name: "quantity", min: "1", max: "999", value: "1", required: true, inputmode: "numeric" }),
          ),
          h("button", { type: "submit", class: "button primary" }, "Add to cart"),
        ),
      ),
    ),
  );
}
await showCartCount();
