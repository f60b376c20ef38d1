"""Use cases (one module each) and the ports (Protocols) they need. Imports domain only."""
