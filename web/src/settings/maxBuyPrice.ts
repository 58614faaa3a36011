// The Settings field "Max buy price (USD)": what the retailer types, checked before it is sent.

export type Parsed = { ok: true; value: string | null } | { ok: false; error: string };

const AMOUNT = /^\d{1,6}(\.\d{1,2})?$/;

/** "" → no maximum (null); "40" / "$40.5" / "1,250.00" → a decimal string; anything else → why not. */
export function parseMaxBuyPrice(input: string): Parsed {
  const text = input.trim().replace(/^\$/, "").replace(/,/g, "").trim();
  if (text === "") return { ok: true, value: null };
  if (!AMOUNT.test(text)) {
    return { ok: false, error: "Enter an amount in US dollars, like 25 or 25.50 (at most two decimals)." };
  }
  if (Number(text) <= 0) return { ok: false, error: "The max buy price must be more than $0. Leave it empty for no maximum." };
  return { ok: true, value: text };
}
