"""Book an appointment: service → office → time → slot → name → contact (optional) → summary.

Each question's answer is read first (a service named at the service question, a slot typed
from the list, a name in a sentence, a contact in words); one message may answer several.
The confirmation is rendered from the appointment as stored.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from assistant.plugin import (
    AppointmentView,
    Button,
    Contact,
    Flow,
    Office,
    PersonTask,
    Service,
    SlotTask,
    Talk,
    Understanding,
    advance,
    answers,
    blocks,
    book,
    escalate,
    hookimpl,
    normalize_spoken,
    steps,
    t,
    when,
)


class BookTask(SlotTask, PersonTask):
    """A booking: the wish, the slot chosen and held, the citizen it is for."""


class BookFlow(Flow):
    name = "book"
    intents = frozenset({"book_appointment"})
    state_model = BookTask

    async def advance(self, talk: Talk) -> None:
        task, cfg = talk.task_as(BookTask), talk.ctx.config
        service = cfg.service(task.service or "")
        if service is not None and task.mode == "video" and not service.video:
            # "Videotermin … für einen Reisepass": not by video; the same wish, in person
            talk.say("video.not_for_service", service=service.name.get(talk.lang))
            task.mode = "in_person"
        if service is None:
            task.step = "service"
            talk.say("book.ask_service", buttons=[
                Button(cfg.service(s).name.get(talk.lang), f'/inform{{"service": "{s}"}}')
                for s in blocks.service_choices(talk)])
            return
        offices = blocks.office_choices(talk)
        office = cfg.office(task.office or "")
        if office is not None and office.id not in {o.id for o in offices}:
            talk.say("book.office_lacks_service", office=office.name.get(talk.lang),
                     offices=", ".join(o.name.get(talk.lang) for o in offices),
                     service=service.name.get(talk.lang))
            task.office = office = None
        if office is None and len(offices) == 1:
            office = offices[0]
            task.office = office.id
        if office is None and task.any_office:
            office = await blocks.earliest_office(talk, service, offices)
            task.office = office.id if office else None
        if office is None:
            task.step = "office"
            talk.say("book.ask_office", service=service.name.get(talk.lang), buttons=[
                Button(o.name.get(talk.lang), f'/inform{{"office": "{o.id}"}}') for o in offices])
            return
        if task.start is None:
            task.step = "time"
            talk.say("book.ask_time", buttons=blocks.time_buttons(talk))
            return
        if task.chosen is None:
            await blocks.offer(talk, service, office)
            return
        if not task.name:
            task.step = "name"
            talk.say("book.ask_name")
            return
        if task.contact is None and talk.msg.verified_contact:
            task.contact = Contact(phone=talk.msg.verified_contact)  # the SMS sender's number
        if not task.contact_asked and task.contact is None:
            task.step, task.contact_asked = "contact", True
            talk.say("book.ask_contact", buttons=[talk.button("button.skip", "/skip")])
            return
        task.step = "confirm"
        contact = task.contact or Contact()
        chosen_office = cfg.office(task.chosen.office) or office
        talk.say(
            "book.summary",
            buttons=blocks.yes_no(talk),
            service=service.name.get(talk.lang),
            office=chosen_office.name.get(talk.lang),
            when=when(task.chosen.start.astimezone(chosen_office.tz), talk.lang),
            name=task.name,
            contact=contact.phone or contact.email or t("contact.none", talk.lang),
            mode=t(f"mode.{task.mode}", talk.lang),
        )

    async def begin(self, talk: Talk, u: Understanding) -> None:
        task = talk.task_as(BookTask)
        task.any_office = answers.any_office(u.text)
        service = talk.ctx.config.service(task.service or "")
        if task.mode == "video" and service is not None and service.video:
            talk.say("video.possible", service=service.name.get(talk.lang))

    async def answer(self, talk: Talk, u: Understanding) -> bool:
        task = talk.task_as(BookTask)
        if task.step == "office" and not u.office and answers.any_office(u.text):
            task.any_office = True
            await advance(talk)
            return True
        # "lieber doch in Riesa", "anything on Thursday instead?" may read as a reschedule:
        # the booking being made changes, nothing booked is to be moved yet.
        if (u.intent == "reschedule_appointment" or answers.corrects_itself(u.text)) and (
                not u.reference and u.has_entities and task.step not in {"service", "office"}
                and blocks.absorb(talk, u)):
            await blocks.release(talk)
            task.step = "slot"
            await advance(talk)
            return True
        if blocks.day_relative(talk, u):  # "am Tag davor?"
            await blocks.release(talk)
            await advance(talk)
            return True
        if task.offered and not u.reference and blocks.earlier_or_later(
                talk, u, task.offered[0].start):  # "geht auch früher?", "anything later?"
            await blocks.release(talk)
            await advance(talk)
            return True
        given = answers.contact_answer(u.text, talk.lang) if task.step == "contact" else None
        if given is not None and (
                given.phone or given.email):  # "… 0170 3456789, aber nicht vor neun anrufen"
            return await steps.answer_contact(talk, u)
        if task.step == "contact" and not u.has_entities and given is None and (
                name := answers.plausible_name(u.text)) and len(name.split()) >= 2 and (
                name != task.name):  # the name, given late: "Rosemarie Winkler"
            task.name = name
            talk.learn(name=name)
            talk.say("book.ask_contact", buttons=[talk.button("button.skip", "/skip")])
            return True
        if await steps.answer_correction(talk, u):
            return True
        step = task.step
        if step in {"service", "office"} and not u.service and not u.office:
            choices = (blocks.service_choices(talk) if step == "service"
                       else [o.id for o in blocks.office_choices(talk)])
            picked = answers.ordinal_choice(normalize_spoken(u.text, talk.lang), len(choices))
            if picked is not None:
                setattr(u, step, choices[picked - 1])
        if (step == "service" and u.service) or (step == "office" and u.office):
            blocks.absorb(talk, u)
            if step == "service" and answers.asks_about_service(u.text):
                await blocks.answer_aside(talk, u, "ask_service_info")
            await advance(talk)
            return True
        if step == "time":
            return await steps.answer_time(talk, u)
        if step == "slot":
            return await steps.answer_slot(talk, u)
        if step == "name":
            return await steps.answer_name(talk, u)
        if step == "contact":
            return await steps.answer_contact(talk, u)
        if step in {"confirm", "change"}:
            return await steps.answer_confirm(talk, u)
        return False

    async def step(self, talk: Talk, u: Understanding) -> None:
        task = talk.task_as(BookTask)
        if task.step == "slot":
            await steps.step_slot(talk, u)
        elif task.step == "name":
            await steps.step_name(talk, u)
        elif task.step == "contact":
            await steps.step_contact(talk, u)
        elif task.step in {"confirm", "change"}:
            await steps.step_confirm(talk, u, self.intents)
        else:  # service, office, time: anything with entities moves on
            if task.step == "time" and u.command == "asap":
                u.start, u.end = talk.now, talk.now + timedelta(days=14)
            if not blocks.absorb(talk, u) and not u.from_button:
                if u.intent == "deny":
                    talk.say("flow.what_instead", buttons=blocks.menu(talk))
                    return
                talk.say("reask.not_understood")
            await advance(talk)

    async def confirm(self, talk: Talk) -> None:
        task, ctx = talk.task_as(BookTask), talk.ctx
        assert task.chosen is not None
        chosen = task.chosen
        office = ctx.config.office(chosen.office)
        service = ctx.config.service(task.service or "")
        assert office is not None and service is not None
        meeting = None
        if task.mode == "video":
            meeting = await escalate.create_meeting(ctx, service.name.get(talk.lang),
                                                    chosen.start)
        contact = task.contact or Contact()
        view = await book.confirm(
            ctx, task.hold or "", service_id=service.id, office_id=office.id,
            start=chosen.start, end=chosen.end,
            citizen=book.Citizen(task.name or "", contact.phone, contact.email),
            origin=talk.origin(), mode=task.mode,
            video_url=meeting.citizen_url if meeting else None,
            staff_video_url=meeting.staff_url if meeting else None,
        )
        if view is None:
            task.hold, task.chosen, task.offered = None, None, []
            talk.say("slot.taken")
            await advance(talk)
            return
        task.hold = None
        talk.state.task = None
        talk.state.history = []
        blocks.task_done(talk, view)
        stored_office, stored_service = ctx.config.office(view.office), ctx.config.service(
            view.service)
        assert stored_office is not None and stored_service is not None
        booked(talk, view, stored_office, stored_service)


def booked(talk: Talk, a: AppointmentView, office: Office, service: Service) -> None:
    """The confirmation, from the appointment as stored."""
    lang = talk.lang
    talk.say(
        "book.done",
        data={"reference": a.display_reference, "appointment": a.to_api(False)},
        reference=a.display_reference,
        service=service.name.get(lang),
        office=office.name.get(lang),
        address=office.address.one_line(),
        when=when(a.start.astimezone(office.tz), lang),
        documents="\n".join(f"• {d}" for d in service.documents[lang]),
        fee=service.fee.get(lang),
    )
    if a.video_url:
        talk.say("book.video_link", url=a.video_url, data={"url": a.video_url})
    talk.say("book.keep_reference", reference=a.display_reference,
             buttons=blocks.menu(talk, short=True))


@hookimpl
def register_flows() -> list[Flow]:
    return [BookFlow()]


@hookimpl
def message_catalogs() -> list[Path]:
    return sorted(Path(__file__).with_name("locales").glob("book.*.po"))
