import { Alert, Button } from "@mui/material";
import { errorMessage } from "../api/client";

export default function ErrorAlert({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <Alert severity="error" role="alert"
      action={onRetry && <Button color="inherit" size="small" onClick={onRetry}>Try again</Button>}>
      {errorMessage(error)}
    </Alert>
  );
}
