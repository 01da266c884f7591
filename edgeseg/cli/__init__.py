"""Typer commands, one module per command; each module exposes `register(app)`."""
