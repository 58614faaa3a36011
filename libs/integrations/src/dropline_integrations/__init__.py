"""Dropline's store-platform integrations: one package per platform behind `port.StorePlatform`."""
