"""The rules on turns (playground/protocols/turns.py, docs/protocols.md §9): each rule renders an
offending prompt through render() and checks the exact note, refusal or problem and that the body
no longer holds the offending thing; and an accepted prompt that is not flagged."""

import pytest

from playground.protocols.render import render
from playground.protocols.serialize import Omitted, materialize
from playground.protocols.turns import prefill_allowed
from playground.protocols.types import Message, Options, Prompt, Target, TextPart

from .helpers import image, pdf

CLAUDE_OLD = "claude-sonnet-4-5"  # takes a prefill
TARGETS = [
    Target("chat", "gpt-4o"),
    Target("responses", "gpt-4o"),
    Target("messages", CLAUDE_OLD),
    Target("gemini", "gemini-2.5-flash"),
]
by_protocol = pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.protocol)
OPTS = Options(max_tokens=5)  # so Anthropic adds no max_tokens note


def user(*parts):
    return Message("user", list(parts))


def assistant(*parts):
    return Message("assistant", list(parts))


def T(text):
    return TextPart(text)


def turns_of(r) -> list:
    """(role, content) of every turn in the body, whatever the protocol."""
    body = materialize(r.body)
    if r.protocol == "gemini":
        return [(c["role"], c["parts"]) for c in body["contents"]]
    key = "input" if r.protocol == "responses" else "messages"
    return [(m["role"], m["content"]) for m in body[key] if m["role"] in ("user", "assistant")]


def texts_of(r) -> list[str]:
    """Every text string sent in a turn, in order."""
    out = []
    for _, content in turns_of(r):
        if isinstance(content, str):
            out.append(content)
        else:
            out.extend(p["text"] for p in content if isinstance(p, dict) and "text" in p)
    return out


def messages(r):
    return [(n.where, n.message, n.level) for n in r.notes]


# --- §9.1 empty and whitespace-only text parts ----------------------------------------------------


@by_protocol
@pytest.mark.parametrize("value, why", [("", "it is empty"), ("  \n\t", "it holds only spaces or line breaks")])
def test_blank_text_part_left_out_with_a_note(target, value, why):
    p = Prompt(messages=[user(T("{{context}}"), T("Hi"))], options=OPTS)
    r = render(p, {"context": value}, target)
    assert r.ok
    assert texts_of(r) == ["Hi"]
    assert messages(r) == [
        (
            "message 1 (user), part 1",
            f"Text part left out: {why} once the variables are filled, and an empty text part is rejected or "
            "meaningless to the provider.",
            "info",
        )
    ]
    assert (r.notes[0].message_index, r.notes[0].part_index) == (0, 0)


@by_protocol
def test_text_with_spaces_around_words_is_kept_as_written(target):
    p = Prompt(messages=[user(T("{{context}}"), T("Hi"))], options=OPTS)
    r = render(p, {"context": "  some context  "}, target)
    assert r.ok and r.notes == []
    assert texts_of(r) == ["  some context  ", "Hi"]


@by_protocol
def test_blank_system_part_left_out(target):
    p = Prompt(system=(T("{{persona}}"), T("Be brief.")), messages=[user(T("Hi"))], options=OPTS)
    r = render(p, {"persona": " "}, target)
    assert r.ok
    assert ("system, part 1", "Text part left out: it holds only spaces or line breaks once the variables are filled, "
            "and an empty text part is rejected or meaningless to the provider.", "info") in messages(r)
    shown = r.display()
    assert '"Be brief."' in shown and '" "' not in shown


# --- §9.1 turns with no content after filling ------------------------------------------------------


@by_protocol
def test_turn_empty_after_filling_is_left_out(target):
    p = Prompt(messages=[user(T("Question")), assistant(T("{{draft}}")), user(T("Again"))], options=OPTS)
    r = render(p, {"draft": ""}, target)
    assert r.ok
    note = next(n for n in r.notes if n.where == "message 2 (assistant)")
    assert note.level == "warning" and note.message_index == 1
    assert note.message == (
        "Turn left out: nothing is left in it to send (its text is empty once the variables are filled, or it has no "
        "parts). Fill it in or delete the message."
    )
    roles = [role for role, _ in turns_of(r)]
    assert "assistant" not in roles and "model" not in roles
    assert all(content not in ([], "") for _, content in turns_of(r))
    if target.protocol in ("messages", "gemini"):  # the two user turns meet and are joined (§8.11)
        assert texts_of(r) == ["Question", "Again"] and len(turns_of(r)) == 1
        assert any(n.where == "message 3 (user)" and "Joined to the previous user turn" in n.message for n in r.notes)
    else:
        assert len(turns_of(r)) == 2


@by_protocol
def test_turn_with_content_is_kept(target):
    p = Prompt(messages=[user(T("Question")), assistant(T("{{draft}}")), user(T("Again"))], options=OPTS)
    r = render(p, {"draft": "A draft."}, target)
    assert r.ok and r.notes == []
    assert len(turns_of(r)) == 3


@by_protocol
def test_brand_new_empty_prompt_is_nothing_to_send(target):
    """Issue 9: a new prompt (one user message, empty text) showed "content": [] with 0 warnings."""
    r = render(Prompt(messages=[user(T(""))], options=OPTS), {}, target)
    assert not r.ok
    [problem] = [p for p in r.problems if p.level == "error"]
    assert problem.where == "messages"
    assert problem.message == (
        "Nothing to send: every message is empty once the variables are filled. "
        "Write a user message, or give the variables some text."
    )
    assert turns_of(r) == []
    assert '"content": []' not in r.display() and '"parts": []' not in r.display()


@by_protocol
def test_message_without_parts_is_left_out_too(target):
    r = render(Prompt(messages=[user(), user(T("Hi"))], options=OPTS), {}, target)
    assert [p.message for p in r.problems] == ["This message is empty."]
    assert texts_of(r) == ["Hi"] and len(turns_of(r)) == 1


def test_no_messages_at_all_keeps_its_own_problem():
    r = render(Prompt(), {}, Target("chat", "gpt-4o"))
    assert [p.message for p in r.problems] == ["The prompt has no messages."]


# --- §9.4 Anthropic: the final assistant turn is a prefill -----------------------------------------


def prefill_prompt(text):
    return Prompt(messages=[user(T("Name a colour.")), assistant(T(text))], options=OPTS)


def test_prefill_trailing_whitespace_trimmed_with_a_warning():
    r = render(prefill_prompt("The colour is \n"), {}, Target("messages", CLAUDE_OLD))
    assert r.ok
    assert materialize(r.body)["messages"][-1] == {"role": "assistant", "content": [{"type": "text", "text": "The colour is"}]}
    assert messages(r) == [
        (
            "message 2 (assistant), part 1",
            "Trailing whitespace trimmed from the final assistant turn: Anthropic rejects a prefill that ends in "
            "whitespace. The answer continues straight after the last word, so it may start with a space.",
            "warning",
        )
    ]


def test_prefill_without_trailing_whitespace_untouched():
    r = render(prefill_prompt("The colour is"), {}, Target("messages", CLAUDE_OLD))
    assert r.ok and r.notes == []
    assert materialize(r.body)["messages"][-1]["content"] == [{"type": "text", "text": "The colour is"}]


def test_earlier_assistant_turn_keeps_its_trailing_whitespace():
    p = Prompt(messages=[user(T("Hi")), assistant(T("Hello \n")), user(T("Bye"))], options=OPTS)
    r = render(p, {}, Target("messages", CLAUDE_OLD))
    assert r.ok and r.notes == []
    assert materialize(r.body)["messages"][1]["content"] == [{"type": "text", "text": "Hello \n"}]


@pytest.mark.parametrize("target", [Target("chat", "gpt-4o"), Target("responses", "gpt-4o"), Target("gemini", "gemini-2.5-flash")],
                         ids=lambda t: t.protocol)
def test_trailing_whitespace_trim_is_anthropic_only(target):
    r = render(prefill_prompt("The colour is "), {}, target)
    assert "The colour is " in texts_of(r)
    assert not any("Trailing whitespace" in n.message for n in r.notes)


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "claude-opus-4-7", "claude-opus-4-8-20260601", "claude-haiku-5"])
def test_prefill_refused_on_claude_4_6_and_later(model):
    r = render(prefill_prompt("The colour is"), {}, Target("messages", model))
    assert not r.ok
    [ref] = r.refusals
    assert (ref.message_index, ref.part_index, ref.modality, ref.where) == (1, None, "turn", "message 2 (assistant)")
    assert ref.reason == (
        f"{model} does not take a prefill: a conversation ending with an assistant turn is rejected (400) on "
        "Claude 4.6 and later. End with a user message, or ask for the format in the system prompt or with a JSON schema."
    )


def test_same_new_model_ending_with_user_is_accepted():
    p = Prompt(messages=[user(T("Hi")), assistant(T("Hello")), user(T("Name a colour."))], options=OPTS)
    r = render(p, {}, Target("messages", "claude-opus-4-7"))
    assert r.ok and r.refusals == []


def test_prefill_allowed_by_model_name():
    assert prefill_allowed("claude-sonnet-4-5") and prefill_allowed("claude-sonnet-4-20250514")
    assert prefill_allowed("claude-3-5-sonnet-20241022") and prefill_allowed("claude-opus-4-1")
    assert not prefill_allowed("claude-sonnet-4-6") and not prefill_allowed("claude-opus-4.6")
    assert not prefill_allowed("claude-opus-5") and not prefill_allowed("claude-haiku-4-10")


def test_prefill_left_empty_is_left_out_not_refused():
    """An empty final assistant turn is dropped (§9.1) before the prefill rule, so a new model takes it."""
    r = render(prefill_prompt("{{start}}"), {"start": ""}, Target("messages", "claude-sonnet-4-6"))
    assert r.ok and r.refusals == []
    assert [m["role"] for m in materialize(r.body)["messages"]] == ["user"]


# --- §9.2, §9.3 media only in user turns on OpenAI ---------------------------------------------------


@pytest.mark.parametrize("protocol, label, why", [
    ("chat", "OpenAI Chat Completions", "assistant content takes only text and refusal parts"),
    ("responses", "OpenAI Responses", "assistant messages take only output text and refusals"),
])
@pytest.mark.parametrize("media", [image, pdf], ids=["image", "pdf"])
def test_media_in_assistant_turn_refused_on_openai(protocol, label, why, media):
    part = media()
    p = Prompt(messages=[user(T("Hi")), assistant(T("Here:"), part), user(T("Thanks"))], options=OPTS)
    r = render(p, {}, Target(protocol, "gpt-4o"))
    assert not r.ok
    [ref] = r.refusals
    assert (ref.message_index, ref.part_index, ref.modality) == (1, 1, part.kind)
    assert ref.reason == f"{label} takes media only in user messages, not in assistant turns ({why}). Move the {part.kind} to a user message."
    content = r.body["messages" if protocol == "chat" else "input"][1]["content"]  # raw: materialize refuses Omitted
    assert content[0] == {"type": "text" if protocol == "chat" else "input_text", "text": "Here:"}
    assert isinstance(content[1], Omitted) and content[1].reason == ref.reason and len(content) == 2
    assert "UE5H" not in r.display() and "UERG" not in r.display()  # the bytes are not in the body


@pytest.mark.parametrize("protocol", ["chat", "responses"])
def test_same_media_in_user_turn_accepted_on_openai(protocol):
    p = Prompt(messages=[user(T("Hi"), image(), pdf())], options=OPTS)
    r = render(p, {}, Target(protocol, "gpt-4o"))
    assert r.ok and r.refusals == []


@pytest.mark.parametrize("target", [Target("messages", CLAUDE_OLD), Target("gemini", "gemini-2.5-flash")], ids=lambda t: t.protocol)
def test_image_in_assistant_turn_accepted_on_anthropic_and_gemini(target):
    p = Prompt(messages=[user(T("Hi")), assistant(T("Here:"), image()), user(T("Thanks"))], options=OPTS)
    r = render(p, {}, target)
    assert r.ok and r.refusals == []
    assert "UE5H" in r.body_bytes().decode()


# --- §9.5 Gemini: user first and last (second-hand: warned) ---------------------------------------


def test_gemini_model_turn_first_warned():
    p = Prompt(messages=[assistant(T("Hello, I am a bot.")), user(T("Hi"))], options=OPTS)
    r = render(p, {}, Target("gemini", "gemini-2.5-flash"))
    assert r.ok
    assert messages(r) == [
        (
            "message 1 (assistant)",
            "The conversation starts with a model turn: Gemini has been reported to reject this (“multiturn requests "
            "alternate between user and model”). Start with a user message.",
            "warning",
        )
    ]


def test_gemini_model_turn_last_warned():
    r = render(prefill_prompt("The colour is"), {}, Target("gemini", "gemini-2.5-flash"))
    assert r.ok
    assert messages(r) == [
        (
            "message 2 (assistant)",
            "The conversation ends with a model turn: Gemini does not continue it as a prefill and has been reported "
            "to reject it (“ends with a user role”). End with a user message.",
            "warning",
        )
    ]


def test_gemini_user_first_and_last_not_warned():
    p = Prompt(messages=[user(T("Hi")), assistant(T("Hello")), user(T("Bye"))], options=OPTS)
    r = render(p, {}, Target("gemini", "gemini-2.5-flash"))
    assert r.ok and r.notes == []


@pytest.mark.parametrize("protocol", ["chat", "responses"])
def test_openai_final_assistant_turn_not_flagged(protocol):
    """OpenAI documents no rule on the last turn: nothing is flagged."""
    r = render(prefill_prompt("The colour is"), {}, Target(protocol, "gpt-4o"))
    assert r.ok and r.notes == [] and r.refusals == []


# --- the bodies these rules change still pass the official SDK types --------------------------------


@by_protocol
def test_bodies_after_the_rules_validate_against_the_sdks(target):
    pytest.importorskip("openai")
    pytest.importorskip("anthropic")
    pytest.importorskip("google.genai.types")
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
    from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
    from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming

    from .sdk_check import gemini_validate, validate_params

    p = Prompt(
        system=(T("{{persona}}"), T("Be brief.")),
        messages=[user(T("{{context}}"), T("Name a colour."), image()), assistant(T("{{draft}}")), user(T("Again")),
                  assistant(T("The colour is "))],
        options=OPTS,
    )
    r = render(p, {"persona": "", "context": " ", "draft": ""}, target)
    assert r.ok, (r.refusals, r.problems)
    assert any(n.message.startswith("Turn left out") for n in r.notes)
    body = materialize(r.body)
    if target.protocol == "chat":
        validate_params(body, CompletionCreateParamsNonStreaming)
    elif target.protocol == "responses":
        validate_params(body, ResponseCreateParamsNonStreaming)
    elif target.protocol == "messages":
        validate_params(body, MessageCreateParamsNonStreaming)
        assert body["messages"][-1]["content"] == [{"type": "text", "text": "The colour is"}]
    else:
        gemini_validate(body)
