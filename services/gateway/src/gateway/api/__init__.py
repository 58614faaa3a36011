"""HTTP routes, one module per audience. Routes parse, authenticate and call one use case."""

from . import operator, retailer, session, supplier, webhooks

ROUTERS = (webhooks.router, session.router, retailer.router, supplier.router, operator.router)
