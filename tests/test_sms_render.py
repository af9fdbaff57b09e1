"""How replies become SMS: segment counting, GSM-7 forms, numbered options, short variants."""

from __future__ import annotations

from assistant.i18n import t
from assistant.messages import Button, Reply
from assistant.text_channels import NumberedOptions, gsm_safe, is_gsm7, segments
from assistant.twilio_channels import e164, is_mobile
from channels.sms import keyword, render


def test_segments_follow_gsm7_and_ucs2_limits() -> None:
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2 and segments("a" * 307) == 3
    assert segments("ä" * 160) == 1  # umlauts are GSM-7
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # extension table: 2 each
    assert segments("ç" + "a" * 69) == 1 and segments("ç" + "a" * 70) == 2  # UCS-2: 70 / 67
    assert segments("ç" + "a" * 133) == 2 and segments("ç" + "a" * 134) == 3


def test_typographic_characters_become_gsm7_and_umlauts_stay() -> None:
    text = gsm_safe("„Müller“ – Straße … • Gebühr 37,00 €")
    assert text == '"Müller" - Straße ... - Gebühr 37,00 €'
    assert is_gsm7(text)


def test_buttons_become_numbered_options_within_three_segments() -> None:
    reply = Reply(text=t("menu.what", "de"), key="menu.what", buttons=(
        Button("Termin buchen", "/book_appointment"), Button("Termin absagen", "/cancel")))
    [body], listed = render([reply])
    assert body == "Was möchten Sie tun?\n1: Termin buchen\n2: Termin absagen\n" \
                   "Antworten Sie mit 1 oder 2."
    assert [b.payload for b in listed] == ["/book_appointment", "/cancel"]
    options = NumberedOptions([b.payload for b in listed])
    assert options.chosen("2") == "/cancel"
    assert options.chosen("Nr. 1") == "/book_appointment"
    assert options.chosen("3") is None
    assert options.chosen("2 Personen") is None


def test_long_core_text_uses_the_sms_variant_then_the_short_one() -> None:
    params = {"reference": "K7Q-M4P", "service": "Fahrzeug zulassen / ummelden",
              "office": "Bürgerbüro Großenhain", "address": "Hauptmarkt 1, 01558 Großenhain",
              "when": "Dienstag, 24. November, 09:30 Uhr",
              "documents": "\n".join(f"• {d}" for d in [
                  "Personalausweis oder Reisepass", "Zulassungsbescheinigung Teil I und Teil II",
                  "elektronische Versicherungsbestätigung (eVB-Nummer)",
                  "SEPA-Lastschriftmandat für die Kfz-Steuer",
                  "Nachweis der Hauptuntersuchung (bei Gebrauchtwagen)"] * 2),
              "fee": "ca. 30 bis 40 € zuzüglich Kennzeichen"}
    reply = Reply(text=t("book.done", "de", **params), key="book.done", params=params)
    [body], _ = render([reply])
    assert body.startswith("Gebucht: Fahrzeug zulassen / ummelden, Dienstag, 24. November")
    assert "Vorgangsnummer: K7Q-M4P" in body and "•" not in body
    assert segments(body) <= 3 and is_gsm7(body)


def test_a_text_that_cannot_be_shortened_is_split_into_messages() -> None:
    long_text = "\n".join(f"Zeile {i}: " + " ".join(["Wort"] * 20) for i in range(12))
    messages, _ = render([Reply(text=long_text, key="", language="de")])
    assert len(messages) > 1
    assert all(segments(m) <= 3 for m in messages)
    assert "".join(messages).replace("\n", "") == long_text.replace("\n", "")


def test_many_options_are_listed_with_a_range_prompt() -> None:
    buttons = tuple(Button(f"Leistung {i}", f"/inform{{\"service\": \"s{i}\"}}")
                    for i in range(1, 13))
    [body], listed = render([Reply(text="Wofür?", key="", buttons=buttons)])
    assert len(listed) == 12 and "12: Leistung 12" in body
    assert body.endswith("Antworten Sie mit einer Nummer von 1 bis 12.")


def test_keywords_and_numbers() -> None:
    assert keyword("STOP") == ("stop", None)
    assert keyword(" Stopp! ") == ("stop", "de")
    assert keyword("abmelden") == ("stop", "de")
    assert keyword("HELP") == ("help", "en")
    assert keyword("start") == ("start", None)
    assert keyword("stopp den Termin") is None
    assert keyword("cancel") is None  # here: cancel my appointment, not an opt-out
    assert e164("0176 12345678") == "+4917612345678"
    assert e164("+49 (0)3521 7250") == "+4935217250"
    assert e164("VODAFONE") is None and e164("anonymous") is None
    assert is_mobile("+4917612345678") and not is_mobile("+4935217250")
