from heliograph.ledger import read_predictions

rows = read_predictions(project.ledger_url, service="price-forecast", role="challenger")
