from bot.middlewares.context import UpdateContextMiddleware
from bot.middlewares.flood import FloodControlMiddleware

__all__ = ["FloodControlMiddleware", "UpdateContextMiddleware"]
