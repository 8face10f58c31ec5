from heliograph.core import init_project
from heliograph.dashboard import HINTS, events, overview, services_of

project = init_project("board-demo", name="board-demo")
assert services_of(project) == {}  # nothing monitored yet
assert overview(project).aliases.empty
assert events(project).empty
print(HINTS["services"])
