"""Slack front end: bolt listeners that translate Slack payloads to the core and render answers."""
