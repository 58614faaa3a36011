import { useEffect, useState, type FormEvent } from "react";
import { Alert, Button, Dialog, DialogActions, DialogContent, DialogTitle, Stack, TextField, Typography } from "@mui/material";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { client, errorMessage, unwrap } from "../api/client";
import { orderKeys } from "./queries";
import { useDetectedCarrier } from "./useDetectedCarrier";

interface Props {
  orderId: string;
  shipment: { tracking_id: string; tracking_number: string } | null; // the shipment whose number is wrong
  onClose(): void;
  onCorrected(number: string): void;
}

/** A wrong tracking number replaced on purpose: the right number and why. The wrong one stays in the
 * order's history, marked as corrected, with who did it. */
export default function CorrectTrackingDialog({ orderId, shipment, onClose, onCorrected }: Props) {
  const queryClient = useQueryClient();
  const open = shipment !== null;
  const [number, setNumber] = useState("");
  const [reason, setReason] = useState("");
  const { carrier, setCarrier } = useDetectedCarrier(number, open);

  useEffect(() => {
    if (open) { setNumber(""); setReason(""); }
  }, [open]);

  const save = useMutation({
    mutationFn: () => unwrap(client.POST("/api/v1/orders/{order_id}/tracking/{tracking_id}/correction", {
      params: { path: { order_id: orderId, tracking_id: shipment?.tracking_id ?? "" } },
      body: { tracking_number: number.trim(), carrier: carrier.trim() || null, reason: reason.trim() },
    })),
    onSuccess: (out) => {
      void queryClient.invalidateQueries({ queryKey: orderKeys.detail(orderId) });
      void queryClient.invalidateQueries({ queryKey: orderKeys.lists });
      onCorrected(out.tracking_number);
    },
  });
  const ready = number.trim().length >= 3 && reason.trim().length > 0;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (ready && !save.isPending) save.mutate();
  }

  return (
    <Dialog open={open} onClose={onClose} aria-labelledby="correct-tracking-title" fullWidth maxWidth="sm"
      slotProps={{ paper: { component: "form", onSubmit: submit } as object }}>
      <DialogTitle id="correct-tracking-title">Correct tracking number {shipment?.tracking_number}</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ pt: 1 }}>
          <Typography color="text.secondary" sx={{ fontSize: 14 }}>
            The store's fulfilment gets the right number; no second fulfilment is made. The wrong number stays in
            this order's history, marked as corrected by you.
          </Typography>
          {save.isError && <Alert severity="error" role="alert">{errorMessage(save.error)}</Alert>}
          <TextField label="Right tracking number" value={number} autoFocus required
            onChange={(e) => setNumber(e.target.value)} />
          <TextField label="Carrier" value={carrier} helperText="Filled in from the number's format when it is recognised."
            onChange={(e) => setCarrier(e.target.value)} />
          <TextField label="Why" value={reason} required multiline minRows={2}
            helperText="For example: the supplier sent the number of another order."
            slotProps={{ htmlInput: { maxLength: 500 } }}
            onChange={(e) => setReason(e.target.value)} />
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button type="submit" variant="contained" disabled={save.isPending || !ready}>
          {save.isPending ? "Saving…" : "Correct"}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
