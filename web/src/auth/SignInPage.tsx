import { useState, type FormEvent } from "react";
import { Alert, Box, Button, Paper, Stack, TextField, Typography } from "@mui/material";
import { Navigate, useNavigate, useSearchParams } from "react-router-dom";
import { ApiError, errorMessage } from "../api/client";
import { safeNext, useSession } from "./session";
import { useTitle } from "../components/useTitle";

function signInError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return "The email or password is not correct.";
    if (e.status === 429) {
      const details = Number(e.details.retry_after_seconds);
      const seconds = Number.isFinite(details) && details > 0 ? Math.ceil(details) : 60;
      return `Too many attempts, try again in ${seconds} seconds`;
    }
  }
  return errorMessage(e);
}

export default function SignInPage() {
  const { state, signIn } = useSession();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(params.get("next"));
  useTitle("Sign in");

  if (state.status === "signed_in" && !busy) return <Navigate to={next} replace />;

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    // Read the form itself: a browser's autofill may not have told React about the values.
    const form = new FormData(e.currentTarget);
    const typedEmail = String(form.get("email") ?? email).trim();
    const typedPassword = String(form.get("password") ?? password);
    if (!typedEmail || !typedPassword) {
      setError("Enter your email and password.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await signIn(typedEmail, typedPassword);
      navigate(next, { replace: true });
    } catch (err) {
      setError(signInError(err));
      setBusy(false);
    }
  }

  return (
    <Box component="main" sx={{ minHeight: "100vh", display: "grid", placeItems: "center", p: 2, bgcolor: "grey.100" }}>
      <Paper component="form" onSubmit={submit} noValidate sx={{ p: 4, width: "100%", maxWidth: 400 }}>
        <Stack spacing={2}>
          <Typography variant="h1" sx={{ fontSize: 28, fontWeight: 600 }}>Dropline</Typography>
          <Typography color="text.secondary">Sign in to your order desk.</Typography>
          {state.status === "signed_out" && state.expired && !error && (
            <Alert severity="info">Your session has expired. Please sign in again.</Alert>
          )}
          {error && <Alert severity="error" role="alert">{error}</Alert>}
          <TextField label="Email" name="email" type="email" autoComplete="username" value={email} required autoFocus
            onChange={(e) => setEmail(e.target.value)} />
          <TextField label="Password" name="password" type="password" autoComplete="current-password" value={password} required
            onChange={(e) => setPassword(e.target.value)} />
          <Button type="submit" variant="contained" size="large" disabled={busy}>
            Sign in
          </Button>
        </Stack>
      </Paper>
    </Box>
  );
}
