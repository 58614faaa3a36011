import { createTheme } from "@mui/material/styles";

// Dense admin tables (the Shopify admin is what retailers know) and a focus ring you can see.
export const theme = createTheme({
  // Status colours dark enough for white chip text (WCAG AA, checked by axe in the browser tests).
  palette: {
    primary: { main: "#1f4fd1" }, secondary: { main: "#6a3fb5" }, warning: { main: "#a04a00" },
    info: { main: "#01579b" }, success: { main: "#1b5e20" }, background: { default: "#f6f7f9" },
  },
  shape: { borderRadius: 8 },
  typography: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" },
  components: {
    MuiButton: { styleOverrides: { root: { textTransform: "none", fontWeight: 600 } } },
    MuiButtonBase: {
      styleOverrides: {
        root: { "&.Mui-focusVisible": { outline: "3px solid #1f4fd1", outlineOffset: 2 } },
      },
    },
    MuiLink: { styleOverrides: { root: { "&:focus-visible": { outline: "3px solid #1f4fd1", outlineOffset: 2 } } } },
    MuiTableCell: { styleOverrides: { root: { paddingTop: 6, paddingBottom: 6 } } },
  },
});
