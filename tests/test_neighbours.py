"""The decision's nearest examples: messages the documents do not answer count only while no passage says them."""

from protocol_bot.analyzer import Analyzer
from protocol_bot.answering import Answerer
from protocol_bot.decision import declined_examples
from protocol_bot.knowledge import load_knowledge
from protocol_bot.models import Passage
from protocol_bot.neighbours import Neighbours

STANDING_ORDERS = '''document:
  id: standing-orders
  title: "Council Procedure Rules"
  publisher: "The council"
  kind: guidance
  edition: "2026"
passages:
  - ref: "4.1"
    heading: Quorum
    type: clause
    text: >-
      The quorum of a meeting of the Full Council is one quarter of the whole number of members.
'''


def weighted(analyzer: Analyzer, text: str) -> list[tuple[float, str]]:
    return [(1.0, t) for t in dict.fromkeys(analyzer.terms(text))]


def test_nearer_a_declined_message_than_anything_said_scores_high():
    analyzer = Analyzer()
    # Enough other examples that no word is in a fifth of them (those are left out as common).
    filler = tuple(f"what does the workbook say about topic {n}" for n in range(12))
    passages = (Passage("p", "1", "Expectations", "Officers should not be contacted at home.",
                        "clause", questions=("can I ring an officer at home?", *filler)),)
    near = Neighbours.build(passages, ("what is the quorum for full council?",), analyzer)
    assert near.declined_share(weighted(analyzer, "what's the quorum at full council")) == 1.0
    assert near.declined_share(weighted(analyzer, "can I phone an officer at home?")) < 0.5
    assert Neighbours.build(passages, (), analyzer).declined_share(
        weighted(analyzer, "quorum")) == 0.0


def test_the_shipped_examples_decline_council_business_and_not_member_officer_questions(answerer):
    assert declined_examples()  # shipped with the package, written by decision_fit
    assert not answerer.answer("what is the quorum for full council?").answered
    assert answerer.answer("can I phone an officer directly?").answered


def test_once_a_document_says_it_a_declined_example_stops_counting(knowledge_copy):
    (knowledge_copy / "standing-orders.yaml").write_text(STANDING_ORDERS, encoding="utf-8")
    answerer = Answerer(load_knowledge(knowledge_copy))
    answer = answerer.answer("what is the quorum for full council?")
    assert answer.answered
    assert answer.citations[0].document_id == "standing-orders"


SOCIAL_MEDIA = '''document:
  id: social-media-guidance
  title: "Social Media Guidance for Councillors"
  publisher: "The council"
  kind: guidance
  edition: "2026"
passages:
  - ref: "2"
    heading: Freedom of information
    type: clause
    text: >-
      Posts and messages about council business on a personal account may be subject to a
      Freedom of Information (FOI) request, so councillors should assume anything they post could
      be disclosed.
'''


def test_a_new_document_without_hints_is_not_declined_for_its_own_topic(knowledge_copy):
    # The shipped declined examples include FOI and Facebook questions (out of scope for the
    # shipped documents); a guidance the MO adds on them must still answer them.
    (knowledge_copy / "social-media.yaml").write_text(SOCIAL_MEDIA, encoding="utf-8")
    answerer = Answerer(load_knowledge(knowledge_copy))
    for question in ("are my facebook posts covered by FOI?",
                     "can my tweets be requested under freedom of information?"):
        answer = answerer.answer(question)
        assert answer.answered, question
        assert answer.citations[0].document_id == "social-media-guidance"
