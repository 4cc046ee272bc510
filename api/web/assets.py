"""Where the web sources and the npm libraries live, and serving a file from them safely.

The pages must work on an intranet with no way out, so every script, stylesheet and image comes
from this server: our own sources from ``web/static`` and the libraries from ``node_modules``
(installed by ``npm ci`` from the pinned lock file, never committed).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException
from fastapi.responses import FileResponse

from notifier.settings import PROJECT_ROOT

WEB_DIR = PROJECT_ROOT / "web"
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
NODE_MODULES = PROJECT_ROOT / "node_modules"

#: URL prefix under /static/vendor -> directory inside node_modules.
VENDOR: dict[str, Path] = {"leaflet": NODE_MODULES / "leaflet" / "dist"}

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".map": "application/json",
    ".json": "application/json",
}
MAX_PATH = 300


@dataclass(frozen=True, slots=True)
class AssetRoots:
    static: Path = STATIC_DIR
    templates: Path = TEMPLATES_DIR
    node_modules: Path = NODE_MODULES

    def vendor(self, package: str) -> Path | None:
        if package not in VENDOR:
            return None
        return self.node_modules / VENDOR[package].relative_to(NODE_MODULES)


def _not_found(path: str, hint: str = "") -> HTTPException:
    message = f"文件不存在 / no such file: {path[:MAX_PATH]}"
    return HTTPException(status_code=404, detail=message + (f" ({hint})" if hint else ""))


def file_response(root: Path, relative: str, *, hint: str = "") -> FileResponse:
    """``root/relative`` if it is a file inside ``root``; 404 for anything else (.., NUL)."""
    if len(relative) > MAX_PATH or "\x00" in relative or "\\" in relative:
        raise _not_found(relative)
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        raise _not_found(relative, hint if not base.is_dir() else "")
    media = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
    return FileResponse(
        target,
        media_type=media or "application/octet-stream",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
