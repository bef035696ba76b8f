"""``single_choice``: radio buttons, or a drop-down list (``widget: select``)."""

from .choice import ChoiceWeb

WEB = ChoiceWeb()
