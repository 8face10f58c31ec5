"""The OpenAPI page at ``/docs``, with Swagger UI served by the gateway itself (from the
``swagger-ui-bundle`` package), so it works with no network.

Example::

    add_docs(app)   # GET /docs, and its assets under /docs/assets/
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoint annotations.

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

__all__: list[str] = []  # the gateway's own parts: create_app assembles them

DOCS_ASSETS = "/docs/assets"


def add_docs(app: FastAPI) -> None:
    """``GET /docs`` (create the app with ``docs_url=None``) and its local assets."""
    from starlette.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )
