import { useEffect, useState, type FormEvent } from "react";
import { Alert, Button, Dialog, DialogActions, DialogContent, DialogTitle, Stack, TextField } from "@mui/material";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { client, errorMessage, unwrap } from "../api/client";
import { orderKeys } from "./queries";

interface Props {
  orderId: string;
  orderNumber: string;
  open: boolean;
  onClose(): void;
}

export default function AddTrackingDialog({ orderId, orderNumber, open, onClose }: Props) {
  const queryClient = useQueryClient();
  const [number, setNumber] = useState("");
  const [carrier, setCarrier] = useState("");
  const [carrierEdited, setCarrierEdited] = useState(false);

  useEffect(() => {
    if (open) { setNumber(""); setCarrier(""); setCarrierEdited(false); }
  }, [open]);

  // The carrier follows the number's format as it is typed, until the retailer edits it.
  useEffect(() => {
    const n = number.trim();
    if (carrierEdited || n.length < 5) return;
    const controller = new AbortController();
    const t = setTimeout(() => {
      unwrap(client.GET("/api/v1/carriers/detect", { params: { query: { tracking_number: n } }, signal: controller.signal }))
        .then((r) => { if (!controller.signal.aborted) setCarrier(r.carrier ?? ""); })
        .catch(() => undefined); // detection is a convenience; the retailer can type the carrier
    }, 250);
    return () => { clearTimeout(t); controller.abort(); };
  }, [number, carrierEdited]);

  const save = useMutation({
    mutationFn: () => unwrap(client.POST("/api/v1/orders/{order_id}/tracking", {
      params: { path: { order_id: orderId } },
      body: { tracking_number: number.trim(), carrier: carrier.trim() || null },
    })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: orderKeys.detail(orderId) });
      void queryClient.invalidateQueries({ queryKey: orderKeys.lists });
      onClose();
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    if (number.trim().length >= 3 && !save.isPending) save.mutate();
  }

  return (
    <Dialog open={open} onClose={onClose} aria-labelledby="add-tracking-title" fullWidth maxWidth="xs"
      slotProps={{ paper: { component: "form", onSubmit: submit } as object }}>
      <DialogTitle id="add-tracking-title">Add tracking number to {orderNumber}</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ pt: 1 }}>
          {save.isError && <Alert severity="error" role="alert">{errorMessage(save.error)}</Alert>}
          <TextField label="Tracking number" value={number} autoFocus required
            onChange={(e) => setNumber(e.target.value)} />
          <TextField label="Carrier" value={carrier} helperText="Filled in from the number's format when it is recognised."
            onChange={(e) => { setCarrier(e.target.value); setCarrierEdited(true); }} />
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button type="submit" variant="contained" disabled={save.isPending || number.trim().length < 3}>
          {save.isPending ? "Saving…" : "Save"}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
