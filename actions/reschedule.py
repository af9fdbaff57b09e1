"""Move an appointment: reference + last name → the appointment → new time (or office) → slot
→ "Soll ich … verschieben?" → moved. The answer is rendered from the row as stored."""

from __future__ import annotations

from assistant.plugin import (
    Flow,
    Talk,
    Understanding,
    advance,
    blocks,
    hookimpl,
    reschedule,
    steps,
    when,
)


class RescheduleFlow(Flow):
    name = "reschedule"
    intents = frozenset({"reschedule_appointment"})

    async def advance(self, talk: Talk) -> None:
        task, cfg = talk.task, talk.ctx.config
        assert task is not None
        if task.appointment_id is None and await blocks.identify(talk) is None:
            return
        office, service = cfg.office(task.office or ""), cfg.service(task.service or "")
        assert office is not None and service is not None
        if task.start is None and task.wants_earlier and task.current_start is not None:
            blocks.search_earlier(talk, task.current_start)
        if task.start is None:
            task.step = "time"
            talk.say("reschedule.ask_time", buttons=blocks.time_buttons(talk))
            return
        if task.chosen is None:
            await blocks.offer(talk, service, office)
            return
        task.step = "confirm"
        chosen_office = cfg.office(task.chosen.office) or office
        talk.say("reschedule.confirm", buttons=blocks.yes_no(talk),
                 when=when(task.chosen.start.astimezone(chosen_office.tz), talk.lang))

    async def begin(self, talk: Talk, u: Understanding) -> None:
        task = talk.task
        assert task is not None
        task.wants_earlier = not u.has_time and bool(blocks.EARLIER.search(u.text))

    async def answer(self, talk: Talk, u: Understanding) -> bool:
        task = talk.task
        assert task is not None
        if task.appointment_id and blocks.earlier_or_later(talk, u, task.current_start):
            await advance(talk)
            return True
        if await steps.answer_correction(talk, u):
            return True
        if task.step == "time":
            return await steps.answer_time(talk, u)
        return await steps.answer_step(talk, u)

    async def step(self, talk: Talk, u: Understanding) -> None:
        await steps.manage_step(talk, u, self.intents)

    async def confirm(self, talk: Talk) -> None:
        task, ctx = talk.task, talk.ctx
        assert task is not None and task.chosen is not None and task.appointment_id is not None
        chosen = task.chosen
        view = await reschedule.move(ctx, task.appointment_id, task.hold or "", chosen.start,
                                     chosen.end, talk.origin(), office_id=chosen.office)
        task.hold = None
        if view is None:
            task.chosen, task.offered = None, []
            talk.say("slot.taken")
            await advance(talk)
            return
        office = ctx.config.office(view.office)
        assert office is not None
        talk.state.task = None
        blocks.task_done(talk, view)
        talk.say("reschedule.done", reference=view.display_reference,
                 when=when(view.start.astimezone(office.tz), talk.lang),
                 office=office.name.get(talk.lang),
                 data={"reference": view.display_reference, "appointment": view.to_api(False)},
                 buttons=blocks.menu(talk, short=True))


@hookimpl
def register_flows() -> list[Flow]:
    return [RescheduleFlow()]
