"""What makes the portal installable: the manifest, the service worker (served from / so that its
scope is the whole portal) and the page it shows offline."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.responses import Response

from wattwallet.web import base

STATIC = Path(__file__).resolve().parent.parent / "static"


def manifest(page: base.Page) -> Response:
    body = {
        "name": page._("WattWallet prepaid electricity"),
        "short_name": "WattWallet",
        "lang": page.lang,
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5394",
        "icons": [
            {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {
                "src": "/static/icons/icon-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json")


def service_worker(page: base.Page) -> Response:
    return Response(
        (STATIC / "sw.js").read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


def offline(page: base.Page) -> Response:
    return base.render(page, "offline.html")
