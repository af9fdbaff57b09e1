"""The kit text-only channels share (assistant/text_channels.py): buttons read by meaning,
numbered options read back the same way on SMS, Matrix and the phone, one wording per channel.
"""

from __future__ import annotations

from assistant.i18n import t
from assistant.messages import Button, Reply
from assistant.text_channels import (
    NumberedOptions,
    TextVariants,
    fitting,
    flat,
    listed_in_text,
    reference_of,
    segments,
)


def test_a_button_says_what_it_means_without_its_payload_being_parsed_by_the_channel() -> None:
    slot = Button("Di. 24.11. 09:30", '/choose{"slot": 2}')
    assert (slot.command, slot.choice, slot.intent, slot.args) == ("choose", 2, None, {"slot": 2})
    move = Button("Verschieben", '/reschedule_appointment{"reference": "K7QM4P"}')
    assert move.intent == "reschedule_appointment" and move.args == {"reference": "K7QM4P"}
    assert Button("Hallo", "/start").intent == "greet"  # as the dialogue reads it
    unknown = Button("?", "/no_such_thing")
    assert (unknown.intent, unknown.command, unknown.args) == (None, None, {})


def test_options_are_numbered_across_replies_and_read_back_by_number_or_title() -> None:
    options = NumberedOptions()
    assert options.add([Button("Ja", "/affirm"), Button("Nein", "/deny")]) == [
        (1, Button("Ja", "/affirm")), (2, Button("Nein", "/deny"))]
    assert [n for n, _ in options.add([Button("Andere Zeit", "/change")])] == [3]
    for said in ("2", " Nr. 2 ", "Taste 2", "die 2.", "number 2"):
        assert options.chosen(said) == "/deny", said
    assert options.chosen("4") is None and options.chosen("2 Personen") is None
    assert options.resolve("andere zeit!") == "/change"
    assert options.resolve("ja, aber morgen") == "ja, aber morgen"


def test_a_slot_offer_keeps_the_numbers_its_text_already_shows() -> None:
    offer = Reply(text="1. Di 09:30\n2. Di 10:15", key="slot.offer", params={"listing": "…"},
                  buttons=(Button("09:30", '/choose{"slot": 1}'),
                           Button("10:15", '/choose{"slot": 2}'),
                           Button("Andere Zeit", '/change{"what": "time"}')))
    assert listed_in_text(offer) == 2
    assert listed_in_text(Reply(text="x", buttons=offer.buttons)) == 0  # no listing in text


def test_each_channel_words_a_reply_its_own_way_and_sms_gets_shorter_when_needed() -> None:
    params = {"reference": "K7Q-M4P", "service": "Reisepass", "office": "Bürgerbüro Riesa",
              "address": "Rathausplatz 1, 01589 Riesa", "when": "Dienstag, 24. November",
              "documents": "• Personalausweis\n• Foto", "fee": "37,00 €"}
    reply = Reply(text=t("book.done", "de", **params), key="book.done", params=params)
    sms = TextVariants("sms", shorter=(".short",)).forms(reply)
    assert "Personalausweis, Foto" in sms[0]  # the list on one line
    assert len(sms) == 2 and "Personalausweis" not in sms[1]  # the short form names none
    assert fitting(sms, 3) == sms[0]
    assert fitting(["x" * 400, "kurz"], 1) == "kurz" and segments("x" * 400) == 3
    plain = Reply(text="Hallo", key="no.such.key")
    assert TextVariants("sms", fallback=lambda text, lang: text.upper()).text(plain) == "HALLO"
    assert flat("• a\n• b") == "a, b" and flat(3) == 3
    assert reference_of(Reply(text="", data={"reference": "k7qm4p"})) == "K7Q-M4P"
    assert reference_of(Reply(text="")) is None
