"""The web side: confirm / approve pages reached from notification links, admin pages, the JSON API
and /metrics (Starlette, server-rendered jinja2 templates from templates/web, no external assets)."""
