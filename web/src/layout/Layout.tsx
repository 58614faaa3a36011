import { AppBar, Box, Button, Container, Toolbar, Typography } from "@mui/material";
import { NavLink, Outlet, useNavigate } from "react-router-dom";
import { useSession } from "../auth/session";
import { useOrderEvents } from "../orders/useOrderEvents";
import ErrorBoundary from "../components/ErrorBoundary";

export default function Layout() {
  const { state, signOut } = useSession();
  const navigate = useNavigate();
  useOrderEvents(state.status === "signed_in");
  const retailer = state.status === "signed_in" ? state.session.retailer.name : "";

  return (
    <Box sx={{ minHeight: "100vh", bgcolor: "background.default" }}>
      <a href="#main" className="skip-link">Skip to content</a>
      <AppBar position="static" color="default" elevation={1} component="header">
        <Toolbar sx={{ gap: 2, flexWrap: "wrap" }}>
          <Typography component="span" sx={{ fontWeight: 700, fontSize: 20 }}>Dropline</Typography>
          <Box component="nav" aria-label="Main" sx={{ display: "flex", gap: 1 }}>
            <Button component={NavLink} to="/" end color="inherit"
              sx={{ "&.active": { color: "primary.main", fontWeight: 700 } }}>
              Orders
            </Button>
            <Button component={NavLink} to="/stores" color="inherit"
              sx={{ "&.active": { color: "primary.main", fontWeight: 700 } }}>
              Stores
            </Button>
            <Button component={NavLink} to="/settings" color="inherit"
              sx={{ "&.active": { color: "primary.main", fontWeight: 700 } }}>
              Settings
            </Button>
          </Box>
          <Box sx={{ flexGrow: 1 }} />
          {retailer && <Typography component="span" color="text.secondary" sx={{ fontSize: 14 }}>{retailer}</Typography>}
          <Button variant="outlined" color="inherit"
            onClick={async () => { await signOut().catch(() => undefined); navigate("/sign-in", { replace: true }); }}>
            Sign out
          </Button>
        </Toolbar>
      </AppBar>
      <Container component="main" id="main" tabIndex={-1} maxWidth={false} sx={{ py: 3, outline: "none" }}>
        <ErrorBoundary>
          <Outlet />
        </ErrorBoundary>
      </Container>
    </Box>
  );
}
