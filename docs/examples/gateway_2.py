from heliograph.core import Project
from heliograph.ledger import read_predictions

project = Project.load("demo")
rows = read_predictions(project.ledger_url, service="price-forecast", role="challenger")
for row in rows[:3]:  # newest first
    print(row.model_name, row.model_version, row.role, row.as_of, row.latency_ms)
