"""Entry points: the Litestar app (controllers, wire structs, guards, envelope), the CLI and the composition root."""
