"""The gateway's use cases (the rules the routes used to hold)."""
