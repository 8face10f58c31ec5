from datetime import UTC, datetime

from heliograph.core import FixedClock, Project
from heliograph.jobs import ingest

project = Project.load("demo").with_clock(FixedClock(datetime(2025, 6, 3, tzinfo=UTC)))
print(ingest(project).summary())
