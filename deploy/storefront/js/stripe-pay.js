// Custom checkout mode: Stripe.js with the session's clientSecret. Stripe.js is loaded from
// /shop/payments.json's `stripeJsUrl` — Stripe's own script in production, the Stripe
// stand-in's in development — so the storefront code is the same in both.
import { staticJson } from "./api.js";

let stripeJs = null;

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => resolve(window.Stripe);
    script.onerror = () => reject(new Error("The payment form could not be loaded."));
    document.head.append(script);
  });
}

/** Mount the payment form into `container`; resolves the session's actions (`confirm()`). */
export async function mountPayment(clientSecret, container) {
  const settings = await staticJson("/shop/payments.json");
  stripeJs ??= loadScript(settings.stripeJsUrl);
  const Stripe = await stripeJs;
  const checkout = Stripe(settings.publishableKey).initCheckoutElementsSdk({ clientSecret });
  checkout.createPaymentElement().mount(container);
  const loaded = await checkout.loadActions();
  if (loaded.type !== "success") throw new Error(loaded.error.message);
  return loaded.actions;
}
