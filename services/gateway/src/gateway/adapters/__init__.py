"""Outside systems the gateway calls, behind Protocols shaped by Dropline's domain."""
