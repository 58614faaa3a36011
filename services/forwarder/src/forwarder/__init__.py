"""forwarder: sends paid auto-orders to the supplier's order API and reports the outcome as events."""
