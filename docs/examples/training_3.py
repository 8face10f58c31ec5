from heliograph.metrics import forecast_metrics
from heliograph.training import Candidate, TrainingPipeline, train

pipeline = TrainingPipeline(
    name="meter-load",                       # registered as meter-load (or meter-load-<subject>)
    feature_view=LoadFeatures(),             # a heliograph.features.FeatureView
    requests=load_requests,                  # (lake, snapshots, subject) -> the rows to compute
    candidates=[Candidate("yesterday", Yesterday), Candidate("least_squares", LeastSquares)],
    metrics=lambda predictions, features: forecast_metrics(predictions["target"],
                                                           predictions["load"]),
    keys=("meter",),                         # identifiers kept beside the predictions
    outputs=("load",),                       # what the registered model answers
)
outcome = train(project, pipeline, backtest_days=7, progress=print)
print(outcome.best, outcome.version, outcome.metrics[outcome.best]["mae"])
