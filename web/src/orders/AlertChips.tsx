import { Chip, Tooltip } from "@mui/material";
import { alertBadges, type AlertFlags } from "./alerts";

/** The order's alert badges (late, not synced), each saying since when. */
export default function AlertChips({ order }: { order: AlertFlags }) {
  return (
    <>
      {alertBadges(order).map((b) => (
        <Tooltip key={b.flag} title={b.title} describeChild>
          <Chip size="small" color={b.color} label={b.label} data-alert={b.flag} />
        </Tooltip>
      ))}
    </>
  );
}
