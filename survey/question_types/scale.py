"""``scale``: radio buttons of the 5-point scale, "not applicable" last."""

from .choice import ChoiceWeb

WEB = ChoiceWeb()
