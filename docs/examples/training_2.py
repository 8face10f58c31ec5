from heliograph.apps.energy import train_market
from heliograph.core import Project
from heliograph.registry import Registry

project = Project.load("demo")
outcome = train_market(project, "GB", models=["seasonal_naive"],  # or more: lear, gbm_quantile, blend
                       backtest_days=14, recalibrate="weekly", train_days=365, reason="nightly")
print(outcome.window, outcome.best, outcome.metrics[outcome.best]["mae"], outcome.version)
registry = Registry(project)
print(registry.aliases("energy-price-GB"))  # {'challenger': '3', 'champion': '1'}
decision = registry.evaluate("energy-price-GB")  # what promote would decide; changes nothing
decision = registry.promote("energy-price-GB", reason="weekly retrain")  # or refuses, recorded
print(decision.accepted, decision.reasons)
for event in registry.history("energy-price-GB", limit=3):  # newest first
    print(event.at, event.kind, event.reason, event.actor)
