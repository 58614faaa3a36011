import { useEffect, useState, type FormEvent } from "react";
import {
  Alert, Button, Dialog, DialogActions, DialogContent, DialogTitle, Stack, Table, TableBody, TableCell, TableHead,
  TableRow, TextField, Typography,
} from "@mui/material";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { client, errorMessage, unwrap } from "../api/client";
import { orderKeys } from "./queries";
import { chosenLines, leftToShip, type OrderLine, type Shipment } from "./shipments";
import { useDetectedCarrier } from "./useDetectedCarrier";

interface Props {
  orderId: string;
  orderNumber: string;
  lines: OrderLine[];
  shipments: Shipment[];
  open: boolean;
  onClose(): void;
}

export default function AddTrackingDialog({ orderId, orderNumber, lines, shipments, open, onClose }: Props) {
  const queryClient = useQueryClient();
  const [number, setNumber] = useState("");
  const { carrier, setCarrier } = useDetectedCarrier(number, open);
  const left = leftToShip(lines, shipments);
  const open_lines = lines.filter((l) => left[l.line_id] > 0);
  // Units of each line in this parcel; by default everything not shipped yet.
  const [chosen, setChosen] = useState<Record<string, number>>({});

  useEffect(() => {
    if (open) {
      setNumber("");
      setChosen(leftToShip(lines, shipments));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open]);
  const parcel = chosenLines(chosen, left);

  const save = useMutation({
    mutationFn: () => unwrap(client.POST("/api/v1/orders/{order_id}/tracking", {
      params: { path: { order_id: orderId } },
      body: { tracking_number: number.trim(), carrier: carrier.trim() || null, ...(parcel ? { lines: parcel } : {}) },
    })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: orderKeys.detail(orderId) });
      void queryClient.invalidateQueries({ queryKey: orderKeys.lists });
      onClose();
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    if (number.trim().length >= 3 && parcel && !save.isPending) save.mutate();
  }

  return (
    <Dialog open={open} onClose={onClose} aria-labelledby="add-tracking-title" fullWidth maxWidth="sm"
      slotProps={{ paper: { component: "form", onSubmit: submit } as object }}>
      <DialogTitle id="add-tracking-title">Add tracking number to {orderNumber}</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ pt: 1 }}>
          {save.isError && <Alert severity="error" role="alert">{errorMessage(save.error)}</Alert>}
          <TextField label="Tracking number" value={number} autoFocus required
            onChange={(e) => setNumber(e.target.value)} />
          <TextField label="Carrier" value={carrier} helperText="Filled in from the number's format when it is recognised."
            onChange={(e) => setCarrier(e.target.value)} />
          {open_lines.length > 0 && (
            <Table size="small" aria-label="Lines in this parcel">
              <TableHead>
                <TableRow><TableCell>Line</TableCell><TableCell>Not shipped</TableCell><TableCell>In this parcel</TableCell></TableRow>
              </TableHead>
              <TableBody>
                {open_lines.map((l) => (
                  <TableRow key={l.line_id}>
                    <TableCell>{l.title}{l.sku ? ` (${l.sku})` : ""}</TableCell>
                    <TableCell>{left[l.line_id]}</TableCell>
                    <TableCell>
                      <TextField type="number" size="small" value={chosen[l.line_id] ?? 0}
                        slotProps={{ htmlInput: { min: 0, max: left[l.line_id], "aria-label": `Quantity of ${l.title} in this parcel` } }}
                        onChange={(e) => setChosen((c) => ({ ...c, [l.line_id]: Number(e.target.value) }))} />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
          {!parcel && <Typography role="status" color="warning.dark" sx={{ fontSize: 14 }}>Choose at least one line for this parcel.</Typography>}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button type="submit" variant="contained" disabled={save.isPending || number.trim().length < 3 || !parcel}>
          {save.isPending ? "Saving…" : "Save"}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
