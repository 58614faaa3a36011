import type { ReactNode } from "react";
import { Box, CircularProgress, Typography } from "@mui/material";
import { Navigate, Route, Routes, useLocation, Link } from "react-router-dom";
import { useSession } from "./auth/session";
import SignInPage from "./auth/SignInPage";
import Layout from "./layout/Layout";
import OrdersPage from "./orders/OrdersPage";
import OrderDetailPage from "./orders/OrderDetailPage";
import CheckoutPage from "./checkout/CheckoutPage";
import ReceiptPage from "./checkout/ReceiptPage";
import PayPalReturnPage from "./checkout/PayPalReturnPage";
import StoresPage from "./stores/StoresPage";
import SettingsPage from "./settings/SettingsPage";
import ErrorBoundary from "./components/ErrorBoundary";

function RequireSession({ children }: { children: ReactNode }) {
  const { state } = useSession();
  const location = useLocation();
  if (state.status === "loading") {
    return (
      <Box sx={{ display: "grid", placeItems: "center", minHeight: "60vh" }}>
        <CircularProgress aria-label="Loading" />
      </Box>
    );
  }
  if (state.status === "signed_out") {
    return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  }
  return <>{children}</>;
}

function NotFound() {
  return (
    <Box>
      <Typography variant="h1" sx={{ fontSize: 24, mb: 2 }}>Page not found</Typography>
      <Link to="/">Back to Orders</Link>
    </Box>
  );
}

export default function App() {
  return (
    <ErrorBoundary>
      <Routes>
        <Route path="/sign-in" element={<SignInPage />} />
        <Route element={<RequireSession><Layout /></RequireSession>}>
          <Route index element={<OrdersPage />} />
          <Route path="/orders" element={<Navigate to="/" replace />} />
          <Route path="/orders/:orderId" element={<OrderDetailPage />} />
          <Route path="/checkout" element={<CheckoutPage />} />
          <Route path="/checkout/paypal/:outcome" element={<PayPalReturnPage />} />
          <Route path="/payments/:paymentId" element={<ReceiptPage />} />
          <Route path="/stores" element={<StoresPage />} />
          <Route path="/settings" element={<SettingsPage />} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </ErrorBoundary>
  );
}
