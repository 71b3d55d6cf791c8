"""The web dashboard: static pages served by the API's own FastAPI app (`mount_dashboard`)."""

from diogen.web.dashboard import dashboard_url, mount_dashboard

__all__ = ["dashboard_url", "mount_dashboard"]
