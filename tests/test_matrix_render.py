"""How the Matrix channel shows buttons as numbered options and reads the citizen's answer.

Pure functions, no homeserver: what a citizen sees in the message and what their "2" means.
"""

from __future__ import annotations

from assistant.messages import Button, Reply
from channels.matrix import RoomOptions, render


def slot_offer() -> Reply:
    listing = "1. Dienstag, 24. November, 09:30 Uhr\n2. Dienstag, 24. November, 10:15 Uhr"
    return Reply(
        text=f"Diese Termine sind frei:\n{listing}\nWelcher passt Ihnen?",
        buttons=(Button("Di. 24.11. 09:30", '/choose{"slot": 1}'),
                 Button("Di. 24.11. 10:15", '/choose{"slot": 2}'),
                 Button("Andere Zeit", '/change{"what": "time"}')),
        key="slot.offer", params={"listing": listing},
    )


def test_buttons_become_numbered_options_in_text_and_html() -> None:
    reply = Reply(text="Wofür brauchen Sie den Termin?",
                  buttons=(Button("Personalausweis", '/inform{"service": "personalausweis"}'),
                           Button("Reisepass", '/inform{"service": "reisepass"}')))
    options = RoomOptions()
    content = render(reply, options)
    assert content["body"] == ("Wofür brauchen Sie den Termin?\n\n1 – Personalausweis\n"
                               "2 – Reisepass")
    assert content["format"] == "org.matrix.custom.html"
    assert content["formatted_body"].endswith(
        '<ol start="1"><li>Personalausweis</li><li>Reisepass</li></ol>')
    assert options.payloads == [b.payload for b in reply.buttons]


def test_listed_slots_keep_their_numbers_and_only_the_rest_is_added() -> None:
    options = RoomOptions()
    content = render(slot_offer(), options)
    assert content["body"].count("Di. 24.11.") == 0  # not listed twice
    assert content["body"].endswith("Welcher passt Ihnen?\n\n3 – Andere Zeit")
    assert options.resolve("2") == '/choose{"slot": 2}'
    assert options.resolve("3") == '/change{"what": "time"}'


def test_numbers_continue_across_replies_of_one_turn() -> None:
    first = Reply(text="Bitte wählen:", buttons=(Button("Ja", "/affirm"), Button("Nein", "/deny")))
    options = RoomOptions()
    render(first, options)
    content = render(slot_offer(), options)
    # The text's own "1." and "2." would clash: the slots are numbered explicitly instead.
    assert "3 – Di. 24.11. 09:30\n4 – Di. 24.11. 10:15\n5 – Andere Zeit" in content["body"]


def test_the_citizen_answers_with_a_number_or_the_words_of_an_option() -> None:
    options = RoomOptions(payloads=["/affirm", "/deny"], titles=["Ja", "Nein"])
    assert options.resolve("1") == "/affirm"
    assert options.resolve(" Nr. 2 ") == "/deny"
    assert options.resolve("nein!") == "/deny"
    assert options.resolve("3") == "3"  # not an option: the dialogue decides
    assert options.resolve("ja, aber erst morgen") == "ja, aber erst morgen"
    assert RoomOptions().resolve("1") == "1"


def test_html_from_citizens_is_shown_as_text_and_links_are_clickable() -> None:
    reply = Reply(text="Name: Anna <b>Schmidt</b> & Co\nLink: https://meet.example.org/r-1?a=1&b=2",
                  buttons=(Button("<i>Ja</i>", "/affirm"),))
    content = render(reply, RoomOptions(), hint="Antworten Sie mit der Nummer.")
    html = content["formatted_body"]
    assert "Anna &lt;b&gt;Schmidt&lt;/b&gt; &amp; Co<br>" in html
    assert '<a href="https://meet.example.org/r-1?a=1&amp;b=2">' in html
    assert "<li>&lt;i&gt;Ja&lt;/i&gt;</li>" in html
    assert content["body"].startswith("Name: Anna <b>Schmidt</b> & Co")
    assert content["body"].endswith("Antworten Sie mit der Nummer.")
