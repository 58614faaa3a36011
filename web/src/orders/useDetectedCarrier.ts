import { useEffect, useState } from "react";
import { client, unwrap } from "../api/client";

/** The carrier field of a tracking form: follows the number's format as it is typed (the gateway's
 * detection), until the retailer edits it. */
export function useDetectedCarrier(number: string, open: boolean) {
  const [carrier, setCarrier] = useState("");
  const [edited, setEdited] = useState(false);

  useEffect(() => {
    if (open) { setCarrier(""); setEdited(false); }
  }, [open]);

  useEffect(() => {
    const n = number.trim();
    if (edited || n.length < 5) return;
    const controller = new AbortController();
    const t = setTimeout(() => {
      unwrap(client.GET("/api/v1/carriers/detect", { params: { query: { tracking_number: n } }, signal: controller.signal }))
        .then((r) => { if (!controller.signal.aborted) setCarrier(r.carrier ?? ""); })
        .catch(() => undefined); // detection is a convenience; the retailer can type the carrier
    }, 250);
    return () => { clearTimeout(t); controller.abort(); };
  }, [number, edited]);

  return { carrier, setCarrier: (value: string) => { setCarrier(value); setEdited(true); } };
}
