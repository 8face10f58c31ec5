from datetime import UTC, datetime, timedelta
from pathlib import Path

from heliograph.core import FixedClock, Project, init_project
from heliograph.jobs import job
from heliograph.scheduler import Scheduler


@job("hello", "say which interval this is", schedule="*/30 * * * *", catch_up="2h", retries=2)
def hello(project: Project) -> str:
    return f"hello for {project.clock().now():%H:%M}"  # the run's scheduled time


project = init_project(Path("sched-demo"))
clock = FixedClock(datetime(2025, 6, 1, 10, 5, tzinfo=UTC))
scheduler = Scheduler(project, ["hello"], clock=clock)
print([o.line() for o in scheduler.tick()])  # the newest interval: 10:00
clock.advance(timedelta(hours=5))  # five hours down: only the last two hours catch up
print([o.summary for o in scheduler.tick()])
print(scheduler.run_interval("hello", at=datetime(2025, 6, 1, 12, 40, tzinfo=UTC)).status)  # a skipped one, by hand
