from heliograph.checks import between, distribution, freshness, not_null, row_count, unique

checks = (
    not_null("price"),
    between("price", -500, 4000, mostly=0.99),
    unique("market", "timestamp"),
    row_count(min=23),
    distribution("price", max_ks=0.6, severity="warn"),
    freshness("available_at", max_age="2d"),
)
# Dataset("energy_prices", columns=..., key=..., time_column=..., checks=checks)
