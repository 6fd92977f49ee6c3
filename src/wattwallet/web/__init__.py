"""The consumer portal: server-rendered pages (Jinja2) in English and Telugu over the same service
calls the HTTP API makes, mounted beside `/api/v1` by `api.app.create_app`. See `portal.mount`."""
