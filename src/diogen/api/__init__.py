"""The REST API (`diogen serve`): FastAPI over the same models and metrics as the CLI."""

from diogen.api.app import create_app

__all__ = ["create_app"]
