import { useEffect } from "react";
import { Alert, Button, Dialog, DialogActions, DialogContent, DialogContentText, DialogTitle, Stack } from "@mui/material";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { client, unwrap } from "../api/client";
import { cancelErrorMessage } from "./cancel";
import { orderKeys } from "./queries";

interface Props {
  orderId: string;
  orderNumber: string;
  open: boolean;
  onClose(): void;
  onCancelled(): void;
}

export default function CancelOrderDialog({ orderId, orderNumber, open, onClose, onCancelled }: Props) {
  const queryClient = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => unwrap(client.POST("/api/v1/orders/{order_id}/cancel", {
      params: { path: { order_id: orderId } },
    })),
    onSuccess: () => {
      // The order page follows the live feed once checkout's answer reaches the read model;
      // refetch now too, and drop what the Pay flow had cached.
      void queryClient.invalidateQueries({ queryKey: orderKeys.detail(orderId) });
      void queryClient.invalidateQueries({ queryKey: orderKeys.lists });
      void queryClient.invalidateQueries({ queryKey: ["quote"] });
      onCancelled();
    },
  });
  const { reset } = cancel;

  useEffect(() => {
    if (open) reset();
  }, [open, reset]);

  return (
    <Dialog open={open} onClose={cancel.isPending ? undefined : onClose} aria-labelledby="cancel-order-title"
      aria-describedby="cancel-order-text" fullWidth maxWidth="xs">
      <DialogTitle id="cancel-order-title">Cancel this order?</DialogTitle>
      <DialogContent>
        <Stack spacing={2}>
          {cancel.isError && <Alert severity="error" role="alert">{cancelErrorMessage(cancel.error)}</Alert>}
          <DialogContentText id="cancel-order-text">
            Order {orderNumber} is not paid, and once cancelled it will not be paid: the supplier gets
            nothing. The store order itself is not changed; cancel or refund it in your store if you need to.
          </DialogContentText>
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} disabled={cancel.isPending}>Keep order</Button>
        <Button color="error" variant="contained" disabled={cancel.isPending} onClick={() => cancel.mutate()}>
          {cancel.isPending ? "Cancelling…" : "Cancel order"}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
