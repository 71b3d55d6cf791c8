"""`diogen serve`: the REST API under uvicorn, with JSON logs."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from diogen.cli.app import ConfigOption, DatabaseOption, app, database, info, settings_for

WORKER_HEALTHCHECK_SECONDS = 120


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (each with its own pool).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs); the database is migrated first."""
    # Imported here, not with the module: the web stack would add most of a second to the
    # start of every other command (`diogen sync` included).
    import uvicorn

    from diogen.api.app import (
        CONFIG_FILE_VARIABLE,
        LOG_LEVEL_VARIABLE,
        SUPERVISOR_VARIABLE,
        create_app,
        freeze_startup_heap,
    )
    from diogen.api.supervisor import supervisor
    from diogen.logs import configure_json_logging

    settings = settings_for(database_url, config)
    # Migrate once here, before any worker starts, rather than racing in every worker.
    with database(settings):
        pass
    configure_json_logging(log_level)
    info(f"serving on http://{host}:{port} (docs at /docs)")
    if workers == 1:
        api = create_app(settings, warm=True)
        freeze_startup_heap()
        uvicorn.run(api, host=host, port=port, log_config=None)
        return
    # Workers are new processes: they rebuild the settings from the same sources.
    os.environ["DIOGEN_DATABASE_URL"] = settings.database_url
    os.environ[LOG_LEVEL_VARIABLE] = log_level
    os.environ[SUPERVISOR_VARIABLE] = str(os.getpid())
    if config is not None:
        os.environ[CONFIG_FILE_VARIABLE] = str(config.resolve())
    server_config = uvicorn.Config(
        "diogen.api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        # uvicorn kills a worker that does not answer its health ping within this time
        # (default 5 s), dropping every request it holds; a worker starting, or computing
        # reports, on a loaded machine can take longer than that to answer.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    with _metrics_directory():
        supervisor(server_config).run()


@contextmanager
def _metrics_directory() -> Iterator[None]:
    """Prometheus multiprocess mode for the workers: each writes its figures to files there, so
    /metrics answers for all of them. A directory given in the environment is used (and kept);
    otherwise a fresh one lives as long as the server. It is set before the workers start,
    because prometheus_client chooses its mode when it is first imported."""
    from diogen.api.routes.health import MULTIPROCESS_VARIABLE, multiprocess_directory

    if multiprocess_directory() is not None:
        yield
        return
    directory = tempfile.mkdtemp(prefix="diogen-metrics-")
    os.environ[MULTIPROCESS_VARIABLE] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_VARIABLE, None)
        shutil.rmtree(directory, ignore_errors=True)
