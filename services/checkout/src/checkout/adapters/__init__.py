"""Outside systems checkout talks to, behind ports shaped by checkout's domain (port.py)."""
