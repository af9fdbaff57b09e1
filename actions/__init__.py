"""The conversation flows: booking, moving, cancelling, checking, handing over to a person.

The flows will move here from assistant/dialogue; the business services they call live in
the booking domain (assistant/booking/). Like channels and plugins, code here uses the core
only through `assistant.plugin`.
"""
