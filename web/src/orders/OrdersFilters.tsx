import { useEffect, useState } from "react";
import { Autocomplete, Box, Button, FormControl, InputLabel, MenuItem, Select, TextField } from "@mui/material";
import { FLAGS, type OrderFilters } from "./filters";
import { STATUSES, statusLabel } from "./status";
import { useStores, useSuppliers } from "./queries";
import { platformLabel } from "../format";

interface Props {
  filters: OrderFilters;
  onChange(patch: Partial<OrderFilters>): void;
}

export default function OrdersFilters({ filters, onChange }: Props) {
  const suppliers = useSuppliers();
  const stores = useStores();
  const [q, setQ] = useState(filters.q);

  // The search box updates the URL once typing pauses (and follows the URL on back/forward).
  useEffect(() => setQ(filters.q), [filters.q]);
  useEffect(() => {
    if (q === filters.q) return;
    const t = setTimeout(() => onChange({ q }), 300);
    return () => clearTimeout(t);
  }, [q, filters.q, onChange]);

  const supplierOptions = suppliers.data ?? [];
  const selectedSupplier = supplierOptions.find((s) => s.supplier_id === filters.supplier_id) ?? null;
  const anyFilter = filters.supplier_id || filters.status || filters.store_id || filters.created_from ||
    filters.created_to || filters.q || filters.flag;

  return (
    <Box role="search" aria-label="Filter orders"
      sx={{ display: "flex", flexWrap: "wrap", gap: 1.5, alignItems: "center", mb: 2 }}>
      <Autocomplete
        sx={{ width: 260 }}
        size="small"
        options={supplierOptions}
        loading={suppliers.isLoading}
        value={selectedSupplier}
        getOptionLabel={(s) => s.name}
        isOptionEqualToValue={(a, b) => a.supplier_id === b.supplier_id}
        onChange={(_e, s) => onChange({ supplier_id: s?.supplier_id ?? "" })}
        renderInput={(params) => <TextField {...params} label="Supplier" placeholder="Select a supplier" />}
      />
      <FormControl size="small" sx={{ minWidth: 190 }}>
        <InputLabel id="status-filter-label">Dropline status</InputLabel>
        <Select labelId="status-filter-label" label="Dropline status" value={filters.status}
          onChange={(e) => onChange({ status: e.target.value })}>
          <MenuItem value="">All statuses</MenuItem>
          {STATUSES.map((s) => <MenuItem key={s} value={s}>{statusLabel(s)}</MenuItem>)}
        </Select>
      </FormControl>
      <FormControl size="small" sx={{ minWidth: 190 }}>
        <InputLabel id="store-filter-label">Store</InputLabel>
        <Select labelId="store-filter-label" label="Store" value={stores.data ? filters.store_id : ""}
          onChange={(e) => onChange({ store_id: e.target.value })}>
          <MenuItem value="">All stores</MenuItem>
          {(stores.data ?? []).map((s) => (
            <MenuItem key={s.store_id} value={s.store_id}>{s.shop} ({platformLabel(s.platform)})</MenuItem>
          ))}
        </Select>
      </FormControl>
      <FormControl size="small" sx={{ minWidth: 150 }}>
        <InputLabel id="flag-filter-label">Alerts</InputLabel>
        <Select labelId="flag-filter-label" label="Alerts" value={filters.flag}
          onChange={(e) => onChange({ flag: e.target.value })}>
          <MenuItem value="">All orders</MenuItem>
          {FLAGS.map((f) => <MenuItem key={f.value} value={f.value}>{f.label}</MenuItem>)}
        </Select>
      </FormControl>
      <TextField size="small" type="date" label="Created from" value={filters.created_from}
        onChange={(e) => onChange({ created_from: e.target.value })}
        slotProps={{ inputLabel: { shrink: true }, htmlInput: { max: filters.created_to || undefined } }} />
      <TextField size="small" type="date" label="Created to" value={filters.created_to}
        onChange={(e) => onChange({ created_to: e.target.value })}
        slotProps={{ inputLabel: { shrink: true }, htmlInput: { min: filters.created_from || undefined } }} />
      <TextField size="small" type="search" label="Search orders" value={q} sx={{ minWidth: 240, flexGrow: 1, maxWidth: 420 }}
        placeholder="Order number, customer, SKU" onChange={(e) => setQ(e.target.value)}
        onKeyDown={(e) => { if (e.key === "Enter") onChange({ q }); }} />
      {anyFilter && (
        <Button onClick={() => onChange({ supplier_id: "", status: "", store_id: "", created_from: "", created_to: "", q: "", flag: "" })}>
          Clear filters
        </Button>
      )}
    </Box>
  );
}
