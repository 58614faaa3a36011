import { Component, type ErrorInfo, type ReactNode } from "react";
import { Alert, Button, Stack } from "@mui/material";

/** A render error shows a readable message and a way on, never a blank page. */
export default class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error("render error", error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <Stack spacing={2} sx={{ p: 3 }}>
        <Alert severity="error">This page could not be shown: {this.state.error.message}</Alert>
        <Button variant="outlined" sx={{ alignSelf: "flex-start" }} onClick={() => window.location.assign("/")}>
          Back to Orders
        </Button>
      </Stack>
    );
  }
}
