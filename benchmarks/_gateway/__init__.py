"""The gateway benchmark's parts; ``benchmarks/gateway.py`` is the entry point."""
