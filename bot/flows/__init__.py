"""Conversation flows: the main menu, submitting a PAKN, looking one up, adding information.

`STEPS` maps every state name to its step; the engine in `bot.conversation` runs them.
"""

from bot.flows import lookup, menu, submit

STEPS = {**menu.STEPS, **lookup.STEPS, **submit.STEPS}

__all__ = ["STEPS"]
