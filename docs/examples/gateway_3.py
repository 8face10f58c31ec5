from pydantic import BaseModel, Field

from heliograph.gateway import Service


class PriceRequest(BaseModel):
    market: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,7}$")
    horizon_hours: int = Field(default=24, ge=1, le=48)

class PriceResponse(BaseModel):
    market: str
    forecasts: list[dict]

class PriceForecast(Service):
    name = "price-forecast"
    Request = PriceRequest
    Response = PriceResponse

    def models(self, context):                 # the registered models to follow
        return context.registry_models("energy-price-")

    def model_for(self, request):              # which one answers this request
        return f"energy-price-{request.market}"

    def features(self, context, request):      # feature rows, as of the request's time
        ...                                    # -> (rows, as_of)

    def respond(self, request, rows, outputs, version):
        ...                                    # -> PriceResponse
