import { useEffect, useState, type FormEvent } from "react";
import { Alert, Box, Button, CircularProgress, InputAdornment, Paper, Stack, TextField, Typography } from "@mui/material";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { client, unwrap } from "../api/client";
import ErrorAlert from "../components/ErrorAlert";
import { useTitle } from "../components/useTitle";
import { priceCheckKey } from "../orders/usePriceChecks";
import { parseMaxBuyPrice } from "./maxBuyPrice";

const settingsKey = ["settings"] as const;

/** The retailer's settings: the price check's maximum buy price (per unit, USD). */
export default function SettingsPage() {
  useTitle("Settings");
  const queryClient = useQueryClient();
  const settings = useQuery({
    queryKey: settingsKey,
    queryFn: ({ signal }) => unwrap(client.GET("/api/v1/settings", { signal })),
  });
  const [text, setText] = useState("");
  const [invalid, setInvalid] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (settings.data) setText(settings.data.max_buy_price_usd ?? "");
  }, [settings.data]);

  const save = useMutation({
    mutationFn: (value: string | null) =>
      unwrap(client.PUT("/api/v1/settings", { body: { max_buy_price_usd: value } })),
    onSuccess: (data) => {
      queryClient.setQueryData(settingsKey, data);
      void queryClient.invalidateQueries({ queryKey: priceCheckKey });
      void queryClient.invalidateQueries({ queryKey: ["quote"] });
      setSaved(true);
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const parsed = parseMaxBuyPrice(text);
    if (!parsed.ok) {
      setInvalid(parsed.error);
      return;
    }
    setInvalid(null);
    save.mutate(parsed.value);
  }

  return (
    <Stack spacing={2} sx={{ maxWidth: 720 }}>
      <Typography variant="h1" sx={{ fontSize: 26, fontWeight: 600 }}>Settings</Typography>
      {settings.isError && <ErrorAlert error={settings.error} onRetry={() => void settings.refetch()} />}
      <Paper variant="outlined" sx={{ p: 2 }} component="section" aria-labelledby="price-check-settings">
        <Typography id="price-check-settings" component="h2" sx={{ fontSize: 18, fontWeight: 600, mb: 1 }}>
          Price check
        </Typography>
        <Typography sx={{ mb: 2, fontSize: 14 }}>
          Before you pay, Dropline compares what each order costs you (the supplier's product cost, shipping fee and
          VAT, in USD) with what your customer paid for those items. Orders that lose money are flagged on the Orders
          page and at checkout, and you confirm them before paying. You can also set the most a supplier may charge
          for one unit of a product.
        </Typography>
        {settings.isPending ? (
          <CircularProgress size={20} aria-label="Loading settings" />
        ) : (
          <Box component="form" onSubmit={submit} noValidate>
            <Stack direction={{ xs: "column", sm: "row" }} sx={{ gap: 2, alignItems: { sm: "flex-start" } }}>
              <TextField
                label="Max buy price (USD)" value={text} autoComplete="off"
                onChange={(e) => { setText(e.target.value); setSaved(false); setInvalid(null); }}
                error={invalid !== null}
                helperText={invalid ?? "Per unit, before shipping and VAT. Leave empty for no maximum."}
                slotProps={{
                  htmlInput: { inputMode: "decimal" },
                  input: { startAdornment: <InputAdornment position="start">$</InputAdornment> },
                }}
                sx={{ minWidth: 260 }}
              />
              <Button type="submit" variant="contained" disabled={save.isPending} sx={{ mt: { sm: 1 } }}>
                {save.isPending ? "Saving…" : "Save"}
              </Button>
            </Stack>
          </Box>
        )}
        <Box aria-live="polite" sx={{ mt: 2 }}>
          {saved && (
            <Alert severity="success">
              {settings.data?.max_buy_price_usd
                ? `Saved. Orders with a product above $${settings.data.max_buy_price_usd} per unit are flagged before you pay.`
                : "Saved. There is no max buy price; orders are still flagged when they lose money."}
            </Alert>
          )}
        </Box>
        {save.isError && <ErrorAlert error={save.error} />}
      </Paper>
    </Stack>
  );
}
