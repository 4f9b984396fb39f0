"""The data protection officer's web console: server-rendered pages under /console."""

from gateway.console.routes import router

__all__ = ["router"]
