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
    Turn,
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

    async def advance(self, turn: Turn) -> None:
        task, cfg = turn.task_as(BookTask), turn.ctx.config
        service = cfg.service(task.service or "")
        if service is not None and task.mode == "video" and not service.video:
            # "Videotermin … für einen Reisepass": not by video; the same wish, in person
            turn.say("video.not_for_service", service=service.name.get(turn.lang))
            task.mode = "in_person"
        if service is None:
            task.step = "service"
            turn.say("book.ask_service", buttons=[
                Button(cfg.service(s).name.get(turn.lang), f'/inform{{"service": "{s}"}}')
                for s in blocks.service_choices(turn)])
            return
        offices = blocks.office_choices(turn)
        office = cfg.office(task.office or "")
        if office is not None and office.id not in {o.id for o in offices}:
            turn.say("book.office_lacks_service", office=office.name.get(turn.lang),
                     offices=", ".join(o.name.get(turn.lang) for o in offices),
                     service=service.name.get(turn.lang))
            task.office = office = None
        if office is None and len(offices) == 1:
            office = offices[0]
            task.office = office.id
        if office is None and task.any_office:
            office = await blocks.earliest_office(turn, service, offices)
            task.office = office.id if office else None
        if office is None:
            task.step = "office"
            turn.say("book.ask_office", service=service.name.get(turn.lang), buttons=[
                Button(o.name.get(turn.lang), f'/inform{{"office": "{o.id}"}}') for o in offices])
            return
        if task.start is None:
            task.step = "time"
            turn.say("book.ask_time", buttons=blocks.time_buttons(turn))
            return
        if task.chosen is None:
            await blocks.offer(turn, service, office)
            return
        if not task.name:
            task.step = "name"
            turn.say("book.ask_name")
            return
        if task.contact is None and turn.msg.verified_contact:
            task.contact = Contact(phone=turn.msg.verified_contact)  # the SMS sender's number
        # asked once; asked again only while it is the open question (after a side question)
        if task.contact is None and (not task.contact_asked or task.step == "contact"):
            task.step, task.contact_asked = "contact", True
            turn.say("book.ask_contact", buttons=[turn.button("button.skip", "/skip")])
            return
        task.step = "confirm"
        contact = task.contact or Contact()
        chosen_office = cfg.office(task.chosen.office) or office
        turn.say(
            "book.summary",
            buttons=blocks.yes_no(turn),
            service=service.name.get(turn.lang),
            office=chosen_office.name.get(turn.lang),
            when=when(task.chosen.start.astimezone(chosen_office.tz), turn.lang),
            name=task.name,
            contact=contact.phone or contact.email or t("contact.none", turn.lang),
            mode=t(f"mode.{task.mode}", turn.lang),
        )

    async def begin(self, turn: Turn, meaning: Understanding) -> None:
        task = turn.task_as(BookTask)
        task.any_office = answers.any_office(meaning.text)
        facts, same = turn.facts, answers.same_as_before(meaning.text)
        if "office" in same and not meaning.office and facts.last_office:
            task.office = facts.last_office  # "Same office, Thursday"
        if "day" in same and facts.last_start is not None:  # "am gleichen Tag in Meißen"
            day = facts.last_start.astimezone(turn.now.tzinfo)
            task.start = day.replace(hour=0, minute=0, second=0, microsecond=0)
            task.end = day.replace(hour=23, minute=59, second=59, microsecond=0)
        service = turn.ctx.config.service(task.service or "")
        if task.mode == "video" and service is not None and service.video:
            turn.say("video.possible", service=service.name.get(turn.lang))

    async def answer(self, turn: Turn, meaning: Understanding) -> bool:
        task = turn.task_as(BookTask)
        if task.step == "office" and not meaning.office and answers.any_office(meaning.text):
            task.any_office = True
            await advance(turn)
            return True
        # "lieber doch in Riesa", "anything on Thursday instead?" may read as a reschedule:
        # the booking being made changes, nothing booked is to be moved yet.
        # "oh sorry, not Riesa - Meissen" may read as managing an appointment: without a code
        # it is this booking that changes
        managing = meaning.intent in {"reschedule_appointment", "cancel_appointment",
                                      "check_appointment"} and not answers.cancels_appointment(
            meaning.text)
        if (managing or answers.corrects_itself(meaning.text)) and (
                not meaning.reference and meaning.has_entities and task.step not in {"service",
                        "office"}
                and blocks.absorb(turn, meaning)):
            await blocks.release(turn)
            task.step = "slot"
            await advance(turn)
            return True
        if blocks.day_relative(turn, meaning):  # "am Tag davor?"
            await blocks.release(turn)
            await advance(turn)
            return True
        if task.offered and not meaning.reference and blocks.earlier_or_later(
                turn, meaning, task.offered[0].start):  # "geht auch früher?", "anything later?"
            await blocks.release(turn)
            await advance(turn)
            return True
        given = answers.contact_answer(meaning.text, turn.lang) if task.step == "contact" else None
        if given is not None and (
                given.phone or given.email):  # "… 0170 3456789, aber nicht vor neun anrufen"
            return await steps.answer_contact(turn, meaning)
        if task.step == "contact" and not meaning.has_entities and given is None and (
                name := answers.plausible_name(meaning.text)) and len(name.split()) >= 2 and (
                name != task.name):  # the name, given late: "Rosemarie Winkler"
            task.name = name
            turn.learn(name=name)
            turn.say("book.ask_contact", buttons=[turn.button("button.skip", "/skip")])
            return True
        if await steps.answer_correction(turn, meaning):
            return True
        step = task.step
        if step in {"service", "office"} and not meaning.service and not meaning.office:
            choices = (blocks.service_choices(turn) if step == "service"
                       else [o.id for o in blocks.office_choices(turn)])
            picked = answers.ordinal_choice(normalize_spoken(meaning.text, turn.lang), len(choices))
            if picked is not None:
                setattr(meaning, step, choices[picked - 1])
        if (step == "service" and meaning.service) or (step == "office" and meaning.office):
            blocks.absorb(turn, meaning)
            if step == "service" and answers.asks_about_service(meaning.text):
                await blocks.answer_aside(turn, meaning, "ask_service_info")
            await advance(turn)
            return True
        if step == "time":
            return await steps.answer_time(turn, meaning)
        if step == "slot":
            return await steps.answer_slot(turn, meaning)
        if step == "name":
            return await steps.answer_name(turn, meaning)
        if step == "contact":
            return await steps.answer_contact(turn, meaning)
        if step in {"confirm", "change"}:
            return await steps.answer_confirm(turn, meaning)
        return False

    async def step(self, turn: Turn, meaning: Understanding) -> None:
        task = turn.task_as(BookTask)
        if task.step == "slot":
            await steps.step_slot(turn, meaning)
        elif task.step == "name":
            await steps.step_name(turn, meaning)
        elif task.step == "contact":
            await steps.step_contact(turn, meaning)
        elif task.step in {"confirm", "change"}:
            await steps.step_confirm(turn, meaning, self.intents)
        else:  # service, office, time: anything with entities moves on
            if task.step == "time" and meaning.command == "asap":
                meaning.start, meaning.end = turn.now, turn.now + timedelta(days=14)
            if not blocks.absorb(turn, meaning) and not meaning.from_button:
                if meaning.intent == "deny":
                    turn.say("flow.what_instead", buttons=blocks.menu(turn))
                    return
                turn.say("reask.not_understood")
            await advance(turn)

    async def confirm(self, turn: Turn) -> None:
        task, ctx = turn.task_as(BookTask), turn.ctx
        assert task.chosen is not None
        chosen = task.chosen
        office = ctx.config.office(chosen.office)
        service = ctx.config.service(task.service or "")
        assert office is not None and service is not None
        meeting = None
        if task.mode == "video":
            meeting = await escalate.create_meeting(ctx, service.name.get(turn.lang),
                                                    chosen.start)
        contact = task.contact or Contact()
        view = await book.confirm(
            ctx, task.hold or "", service_id=service.id, office_id=office.id,
            start=chosen.start, end=chosen.end,
            citizen=book.Citizen(task.name or "", contact.phone, contact.email),
            origin=turn.origin(), mode=task.mode,
            video_url=meeting.citizen_url if meeting else None,
            staff_video_url=meeting.staff_url if meeting else None,
        )
        if view is None:
            task.hold, task.chosen, task.offered = None, None, []
            turn.say("slot.taken")
            await advance(turn)
            return
        task.hold = None
        turn.state.task = None
        turn.state.history = []
        blocks.task_done(turn, view)
        stored_office, stored_service = ctx.config.office(view.office), ctx.config.service(
            view.service)
        assert stored_office is not None and stored_service is not None
        booked(turn, view, stored_office, stored_service)


def booked(turn: Turn, a: AppointmentView, office: Office, service: Service) -> None:
    """The confirmation, from the appointment as stored."""
    lang = turn.lang
    turn.say(
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
        turn.say("book.video_link", url=a.video_url, data={"url": a.video_url})
    turn.say("book.keep_reference", reference=a.display_reference,
             buttons=blocks.menu(turn, short=True))


@hookimpl
def register_flows() -> list[Flow]:
    return [BookFlow()]


@hookimpl
def message_catalogs() -> list[Path]:
    return sorted(Path(__file__).with_name("locales").glob("book.*.po"))
