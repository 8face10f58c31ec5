"""Reference systems built only from heliograph's public API, independent of each other."""
