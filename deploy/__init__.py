"""Production set-up: the nginx configuration in front of gunicorn (docs/deploy.md)."""
