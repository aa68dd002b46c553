"""Look through a recording in the browser: ``spikevision view PATH``.

A small web app (Starlette + uvicorn, the ``view`` extra) whose routes call the
library: readers (:mod:`spikevision.io`), :func:`spikevision.recon.reconstruct`,
:func:`spikevision.flow.estimate_flow` and :mod:`spikevision.viz`.

* :mod:`.source`: the source protocol (:class:`ViewSource`), files and the catalog;
* :mod:`.render`: the panels as arrays (pure functions of a stream);
* :mod:`.exports`: atomic writes into the export folder;
* :mod:`.live`: a live feed (socket, replay at camera rate) as a source;
* :mod:`.app`: the HTTP API and the page; :mod:`.server`: binding and serving.

>>> from spikevision.view import open_catalog, create_app, LoadOptions   # doctest: +SKIP
>>> app = create_app(open_catalog("clip.dat", LoadOptions(sensor="vidar")))  # doctest: +SKIP
"""

from __future__ import annotations

from .app import ViewSettings, create_app
from .live import LiveSource, open_live
from .server import ServeOptions, is_loopback, serve
from .source import Catalog, FileSource, LoadOptions, SourceInfo, ViewSource, open_catalog

__all__ = ["ViewSource", "SourceInfo", "FileSource", "LoadOptions", "Catalog", "open_catalog", "ViewSettings",
           "create_app", "ServeOptions", "serve", "is_loopback", "LiveSource", "open_live"]
