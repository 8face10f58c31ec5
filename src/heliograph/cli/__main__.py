"""`python -m heliograph.cli`: the same as `helio`."""

from heliograph.cli import main

main()
