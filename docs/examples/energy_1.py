from heliograph.apps.energy import RegimeShift, simulate

data = simulate(["GB", "DE"], "2024-01-01", "2024-12-31", seed=7, freq="30min")
data = simulate(["GB"], "2024-06-01", "2024-06-07", shifts=())            # no regime shifts
data = simulate(["DE"], "2025-01-01", "2025-12-31",
                shifts=[RegimeShift("2025-09-01", "fuel", 1.6, markets=("DE",))])
print(sorted(data))  # ['energy_actuals', 'energy_forecasts', 'energy_prices']
