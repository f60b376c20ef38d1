"""DXF drawings read from untrusted uploads: parsed into plain structures or drawn as SVG."""
