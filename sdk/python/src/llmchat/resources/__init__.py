"""The client's route groups (`client.agents`, `client.chat`, ...), sync and async."""
