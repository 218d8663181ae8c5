"""Conversation flows: the main menu, submitting a PAKN, looking one up, adding information,
and the satisfaction survey.

`STEPS` maps every state name to its step; `ANYWHERE` maps the button prefixes answered at any
step to their handlers; the engine in `bot.conversation` runs them.
"""

from bot.flows import lookup, menu, privacy, submit, survey

STEPS = {**menu.STEPS, **lookup.STEPS, **submit.STEPS, **survey.STEPS, **privacy.STEPS}
ANYWHERE = {**survey.ANYWHERE, **privacy.ANYWHERE}

__all__ = ["ANYWHERE", "STEPS"]
