"""Entry points: the Litestar app, its controllers and envelope, the CLI, the composition root."""
