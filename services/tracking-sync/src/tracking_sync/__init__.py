"""tracking-sync: writes fulfilments and tracking numbers back to the retailers' stores."""
