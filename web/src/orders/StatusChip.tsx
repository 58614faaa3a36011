import { Chip } from "@mui/material";
import { statusColor, statusLabel } from "./status";

export default function StatusChip({ status }: { status: string }) {
  return <Chip size="small" label={statusLabel(status)} color={statusColor(status)} />;
}
