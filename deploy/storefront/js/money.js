// Money arrives as integer minor units plus a currency; it is only ever formatted here.
const formats = new Map();

function formatFor(currency, locale) {
  const key = `${locale}:${currency}`;
  if (!formats.has(key)) {
    formats.set(key, new Intl.NumberFormat(locale, { style: "currency", currency }));
  }
  return formats.get(key);
}

/** `formatMoney(3400, "usd", "en-US")` → "$34.00" (zero-decimal currencies respected). */
export function formatMoney(amount, currency, locale = "en-US") {
  const format = formatFor(currency.toUpperCase(), locale);
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(amount / 10 ** digits);
}
