"""The HTTP API (`wattwallet serve`): FastAPI routers that turn requests into service calls."""
