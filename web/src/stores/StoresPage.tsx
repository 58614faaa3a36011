import { useEffect, useState, type ReactNode } from "react";
import { Alert, Box, Button, Chip, CircularProgress, Paper, Stack, Typography } from "@mui/material";
import CheckCircleIcon from "@mui/icons-material/CheckCircle";
import ErrorOutlineIcon from "@mui/icons-material/ErrorOutlined";
import HourglassEmptyIcon from "@mui/icons-material/HourglassEmpty";
import RefreshIcon from "@mui/icons-material/Refresh";
import WarningAmberIcon from "@mui/icons-material/WarningAmber";
import ErrorAlert from "../components/ErrorAlert";
import { useTitle } from "../components/useTitle";
import { localDateTime } from "../format";
import { REFRESH_MS, useStoresHealth } from "./queries";
import {
  assessHealth, platformName, plural, reconciliationExamined, reconciliationSentence, relativeTime,
  type HealthAssessment, type StoreWithHealth,
} from "./storeHealth";

/** The current time, ticking, so "5 minutes ago" moves on between refetches. */
function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return now;
}

const secondary = { fontSize: 13, color: "text.secondary" } as const;

/** Relative and absolute: "5 minutes ago · May 10, 2024, 2:00 PM" (seconds in the tooltip). */
function When({ iso, now, none }: { iso: string | null | undefined; now: number; none: string }) {
  if (!iso) return <Typography component="span" sx={secondary}>{none}</Typography>;
  return (
    <>
      <time dateTime={iso} title={localDateTime(iso, true)}>{relativeTime(iso, now)}</time>
      <Typography component="span" sx={secondary}> · {localDateTime(iso)}</Typography>
    </>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <>
      <Box component="dt" sx={{ fontWeight: 600, fontSize: 14 }}>{term}</Box>
      <Box component="dd" sx={{ m: 0, fontSize: 14, mb: { xs: 1, sm: 0 } }}>{children}</Box>
    </>
  );
}

function HealthChip({ assessment }: { assessment: HealthAssessment }) {
  const { level, label } = assessment;
  const icon = level === "warning" ? <WarningAmberIcon /> : level === "ok" ? <CheckCircleIcon /> : <HourglassEmptyIcon />;
  const color = level === "warning" ? "warning" : level === "ok" ? "success" : "default";
  return <Chip icon={icon} label={label} color={color} size="small" variant={level === "idle" ? "outlined" : "filled"} />;
}

function StoreCard({ store, now }: { store: StoreWithHealth; now: number }) {
  const h = store.health;
  const rec = h.last_reconciliation ?? null;
  const assessment = assessHealth(h);
  const headingId = `store-${store.store_id}-name`;
  const examined = reconciliationExamined(rec);
  return (
    <Paper variant="outlined" component="section" aria-labelledby={headingId} data-store-id={store.store_id}
      sx={{ p: 2, ...(assessment.level === "warning" && { borderColor: "warning.main", borderWidth: 2 }) }}>
      <Stack direction="row" sx={{ alignItems: "flex-start", gap: 2, mb: 1.5, flexWrap: "wrap" }}>
        <Box sx={{ flexGrow: 1, minWidth: 0 }}>
          <Typography variant="h2" id={headingId} sx={{ fontSize: 18, fontWeight: 600, overflowWrap: "anywhere" }}>
            {store.shop}
          </Typography>
          <Typography sx={secondary}>{platformName(store.platform)}</Typography>
        </Box>
        <HealthChip assessment={assessment} />
      </Stack>

      {assessment.level === "warning" && (
        <Alert severity="warning" role="status" sx={{ mb: 1.5 }}>
          {assessment.problems.length === 1 ? assessment.problems[0] : (
            <Box component="ul" sx={{ m: 0, pl: 2 }}>
              {assessment.problems.map((p) => <li key={p}>{p}</li>)}
            </Box>
          )}
        </Alert>
      )}

      <Box component="dl" sx={{
        m: 0, display: "grid", columnGap: 3, rowGap: { xs: 0.25, sm: 1 },
        gridTemplateColumns: { xs: "1fr", sm: "max-content 1fr" },
      }}>
        <Fact term="Last webhook received"><When iso={h.last_webhook_at} now={now} none="None yet" /></Fact>
        <Fact term="Last reconciliation">
          {rec ? (
            <>
              <When iso={rec.at} now={now} none="Not run yet" />
              <Box sx={{ display: "flex", alignItems: "flex-start", gap: 0.5 }}>
                {rec.error && <ErrorOutlineIcon fontSize="small" color="error" aria-hidden sx={{ mt: "1px" }} />}
                <Typography component="span" sx={{ fontSize: 14, minWidth: 0, overflowWrap: "anywhere" }}
                  color={rec.error ? "error.main" : undefined}>
                  {reconciliationSentence(rec)}
                  {examined && <Typography component="span" sx={secondary}> ({examined})</Typography>}
                </Typography>
              </Box>
            </>
          ) : <Typography component="span" sx={secondary}>Not run yet</Typography>}
        </Fact>
        <Fact term="Last write-back"><When iso={h.last_write_back_at} now={now} none="None yet" /></Fact>
        <Fact term="Writes waiting">
          {h.writes_waiting}
          {h.writes_waiting > 0 && (
            <Typography component="span" sx={secondary}>
              {" "}· {plural(h.writes_waiting, "shipped order")} whose tracking is not in the store yet
            </Typography>
          )}
        </Fact>
        <Fact term="Last failure">
          {h.last_failure ? (
            <>
              <When iso={h.last_failure.at} now={now} none="None" />
              <Typography sx={{ fontSize: 14, overflowWrap: "anywhere" }}>{h.last_failure.reason}</Typography>
            </>
          ) : <Typography component="span" sx={secondary}>None</Typography>}
        </Fact>
      </Box>
    </Paper>
  );
}

export default function StoresPage() {
  useTitle("Stores");
  const stores = useStoresHealth();
  const now = useNow(REFRESH_MS);
  const list = stores.data ?? [];
  const needingAttention = list.filter((s) => assessHealth(s.health).level === "warning").length;

  return (
    <Stack spacing={2}>
      <Stack direction="row" sx={{ alignItems: "center", gap: 2, flexWrap: "wrap" }}>
        <Typography variant="h1" sx={{ fontSize: 26, fontWeight: 600 }}>Stores</Typography>
        <Box sx={{ flexGrow: 1 }} />
        {stores.isSuccess && (
          <Typography sx={secondary}>
            Updated <time dateTime={new Date(stores.dataUpdatedAt).toISOString()}
              title={localDateTime(new Date(stores.dataUpdatedAt).toISOString(), true)}>
              {relativeTime(new Date(stores.dataUpdatedAt).toISOString(), now)}
            </time>
          </Typography>
        )}
        <Button variant="outlined" startIcon={<RefreshIcon />} disabled={stores.isFetching}
          onClick={() => void stores.refetch()}>
          Refresh
        </Button>
      </Stack>
      <Typography color="text.secondary" sx={{ fontSize: 14 }}>
        How each connected store is syncing: the webhooks it sends, the reconciliation that picks up orders
        no webhook brought, and the tracking written back to it.
      </Typography>

      {stores.isError && <ErrorAlert error={stores.error} onRetry={() => void stores.refetch()} />}

      {stores.isPending && (
        <Box sx={{ display: "grid", placeItems: "center", py: 6 }}>
          <CircularProgress aria-label="Loading stores" />
        </Box>
      )}

      {stores.isSuccess && list.length === 0 && (
        <Paper variant="outlined" sx={{ p: 4, textAlign: "center" }}>
          <Typography sx={{ fontWeight: 600 }}>No stores connected yet</Typography>
          <Typography color="text.secondary" sx={{ fontSize: 14, mt: 1 }}>
            Once a store is connected, its orders come in and its sync health shows here.
          </Typography>
        </Paper>
      )}

      {list.length > 0 && (
        <>
          {needingAttention > 0 && (
            <Typography sx={{ display: "flex", alignItems: "center", gap: 1, fontSize: 14 }} color="warning.main">
              <WarningAmberIcon fontSize="small" aria-hidden />
              {needingAttention === 1 ? "1 store needs" : `${needingAttention} stores need`} attention.
            </Typography>
          )}
          <Box sx={{ display: "grid", gap: 2, gridTemplateColumns: { xs: "1fr", lg: "repeat(2, minmax(0, 1fr))" } }}>
            {list.map((s) => <StoreCard key={s.store_id} store={s} now={now} />)}
          </Box>
        </>
      )}
    </Stack>
  );
}
