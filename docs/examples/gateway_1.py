from heliograph.serving import ModelStore, RegistryFollower

store = ModelStore()
RegistryFollower(project, store, ["energy-price-GB"]).sync()   # or .start() to keep following
store.get("energy-price-GB", "champion").predict_cached(rows)
