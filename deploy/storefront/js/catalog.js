// The shop this storefront is: /shop/ is the front door's folder for the port's shop —
// catalog.json (generated from the seed catalog) and shop.json (words, locale).
import { staticJson } from "./api.js";
import { formatMoney } from "./money.js";

let loading = null;

/** `{shop, products, tagline, locale, ...}` for the shop of this host. */
export function loadShop() {
  loading ??= Promise.all([staticJson("/shop/catalog.json"), staticJson("/shop/shop.json")]).then(
    ([catalog, words]) => ({ ...words, ...catalog, isRental: catalog.shop.type === "rental" }),
  );
  return loading;
}

export function findProduct(shop, sku) {
  return shop.products.find((product) => product.sku === sku) ?? null;
}

export function money(shop, amount, currency = shop.shop.currency) {
  return formatMoney(amount, currency, shop.locale);
}

export function optionLabel(name) {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

export function valueLabel(name, value) {
  return name === "size" ? value.toUpperCase() : value.charAt(0).toUpperCase() + value.slice(1);
}

/** "Size M, Color Navy" — how a variant is named to a shopper. */
export function describeVariant(attributes) {
  return Object.entries(attributes ?? {})
    .map(([name, value]) => `${optionLabel(name)} ${valueLabel(name, value)}`)
    .join(", ");
}

/** The platform's variantKey: sku, then `|key=value` per attribute in key order, lower-cased. */
export function variantKey(sku, attributes) {
  const encode = (text) => text.toLowerCase().replace(/[%|=]/g, (c) => encodeURIComponent(c));
  const parts = Object.keys(attributes ?? {})
    .map((name) => [name.toLowerCase(), attributes[name]])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `|${encode(name)}=${encode(value)}`);
  return sku + parts.join("");
}
